import { readFileSync } from "node:fs";
import type { JWK } from "jose";
import { CliError } from "../lib/errors.ts";
import { writePrivateFile } from "../lib/private-file.ts";

/**
 * A host's credentials file, written by `host bootstrap` and read by
 * `host token`. It holds private keys: created with mode 0600 and
 * rewritten whole (a temporary file renamed over it), never left
 * half-written or readable by others.
 */
export interface HostCredentials {
  issuer: string;
  token_endpoint: string;
  client_id: string;
  org_id: string;
  token_endpoint_auth_method: string;
  scope: string;
  audiences: string[];
  /** The key the client is registered with: it signs the RFC 7523 client assertions. */
  private_jwk: JWK;
  /** RFC 9449 §5.2, as the bootstrap answered it: every token request carries a DPoP proof. */
  dpop_bound_access_tokens?: boolean;
  /** The host's DPoP key (ES256), once it has one: see hostDpopKey in cli/host/token.ts for why it is its own. */
  dpop_private_jwk?: JWK;
}

/** Writes the whole file fresh at 0600 and moves it over `path` (lib/private-file.ts). */
export function writeHostCredentials(path: string, document: object): void {
  writePrivateFile(path, `${JSON.stringify(document, null, 2)}\n`);
}

export function readHostCredentials(path: string): HostCredentials {
  let document: Partial<HostCredentials> & { status?: unknown };
  try {
    document = JSON.parse(readFileSync(path, "utf8")) as typeof document;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new CliError(
      missing ? `no host credentials in ${path}; run \`mono-auth host bootstrap\`` : `${path} is not JSON`,
    );
  }
  if (document.status === "pending") {
    throw new CliError(`${path} is from a bootstrap whose outcome is unknown; ask an operator (see its key id)`);
  }
  const { issuer, token_endpoint, client_id, private_jwk } = document;
  if (
    typeof issuer !== "string" ||
    typeof token_endpoint !== "string" ||
    typeof client_id !== "string" ||
    typeof private_jwk !== "object" ||
    private_jwk === null
  ) {
    throw new CliError(`${path} is not a host credentials file written by \`mono-auth host bootstrap\``);
  }
  return document as HostCredentials;
}

/**
 * Keeps `privateJwk` as the host's DPoP key unless the file already holds
 * one (another run made it first), and returns the key the file holds: a
 * key is made once per host, never replaced behind a running process.
 */
export function saveHostDpopKey(path: string, privateJwk: JWK): JWK {
  const credentials = readHostCredentials(path);
  if (credentials.dpop_private_jwk) return credentials.dpop_private_jwk;
  writeHostCredentials(path, { ...credentials, dpop_private_jwk: privateJwk });
  return privateJwk;
}
