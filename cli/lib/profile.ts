import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { CliError } from "./errors.ts";

/**
 * The CLI's profile: platform operator credentials per issuer, written by
 * `operator bootstrap` and read by every admin command. It holds client
 * secrets, so it is created with mode 0600 and rewritten whole (a temporary
 * file renamed over it), never left half-written or readable by others.
 */
export interface OperatorCredentials {
  client_id: string;
  client_secret: string;
  email: string;
  created_at: string;
}

interface ProfileDocument {
  version: 1;
  /** Keyed by issuer (the normalised `--url`). */
  operators: Record<string, OperatorCredentials>;
  /** The deployed issuer `--remote` stands for (written by `mono-auth init --url …`). */
  remote?: string;
}

function readDocument(path: string): ProfileDocument {
  if (!existsSync(path)) return { version: 1, operators: {} };
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw new CliError(`the profile ${path} is not JSON; move it away and run \`mono-auth operator bootstrap\` again`);
  }
  const operators = (document as Partial<ProfileDocument>)?.operators;
  if (typeof operators !== "object" || operators === null) {
    throw new CliError(`the profile ${path} is not a mono-auth profile`);
  }
  const remote = (document as Partial<ProfileDocument>).remote;
  return { version: 1, operators, ...(typeof remote === "string" ? { remote } : {}) };
}

function writeDocument(path: string, document: ProfileDocument): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600 });
  // The mode given to writeFileSync applies only to a file it creates.
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/** Remembers the deployed issuer, so `--remote` names it. */
export function saveRemote(path: string, issuer: string): void {
  writeDocument(path, { ...readDocument(path), remote: issuer });
}

/** The deployed issuer `--remote` stands for. */
export function remoteIssuer(path: string): string {
  const remote = readDocument(path).remote;
  if (!remote) {
    throw new CliError(
      `no remote issuer in ${path}; run \`mono-auth init --url https://your.issuer\` (or pass --url instead of --remote)`,
    );
  }
  return remote;
}

export function saveOperator(path: string, issuer: string, credentials: OperatorCredentials): void {
  const document = readDocument(path);
  document.operators[issuer] = credentials;
  writeDocument(path, document);
}

export function operatorFor(path: string, issuer: string): OperatorCredentials {
  const credentials = readDocument(path).operators[issuer];
  if (!credentials) {
    throw new CliError(
      `no operator credentials for ${issuer} in ${path}; run \`mono-auth operator bootstrap --email <you> --url ${issuer}\` first`,
    );
  }
  return credentials;
}
