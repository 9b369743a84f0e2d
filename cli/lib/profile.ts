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
  return { version: 1, operators };
}

export function saveOperator(path: string, issuer: string, credentials: OperatorCredentials): void {
  const document = readDocument(path);
  document.operators[issuer] = credentials;
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600 });
  // The mode given to writeFileSync applies only to a file it creates.
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
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
