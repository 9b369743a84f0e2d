import { existsSync, readFileSync } from "node:fs";
import type { JWK } from "jose";
import { CliError } from "./errors.ts";
import { writePrivateFile } from "./private-file.ts";

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
  /**
   * The operator's DPoP private key (RFC 9449, ES256), once it has one:
   * from `operator bootstrap --dpop`, or made the first time the token
   * endpoint refused the client's token request for want of a proof. With
   * it, every token is DPoP-bound and every admin call carries a proof.
   */
  dpop_private_jwk?: JWK;
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
  // Fresh at 0600 and moved over the profile at once (lib/private-file.ts): the secrets are never
  // written through a file or link someone placed at the path.
  writePrivateFile(path, `${JSON.stringify(document, null, 2)}\n`);
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
  if (!credentials) throw noOperator(path, issuer);
  return credentials;
}

function noOperator(path: string, issuer: string): CliError {
  return new CliError(
    `no operator credentials for ${issuer} in ${path}; run \`mono-auth operator bootstrap --email <you> --url ${issuer}\` first`,
  );
}

/**
 * Keeps `privateJwk` as the operator's DPoP key unless the profile already
 * holds one (another run made it first), and returns the key the profile
 * holds: a key is made once per operator and issuer, never replaced.
 */
export function saveDpopKey(path: string, issuer: string, privateJwk: JWK): JWK {
  const document = readDocument(path);
  const credentials = document.operators[issuer];
  if (!credentials) throw noOperator(path, issuer);
  if (credentials.dpop_private_jwk) return credentials.dpop_private_jwk;
  credentials.dpop_private_jwk = privateJwk;
  writeDocument(path, document);
  return privateJwk;
}
