import { generateClientSecret } from "./secret-hash.ts";

/**
 * An org's SCIM bearer token (shared/db/scim-schema.ts `scim_token`):
 * `sct_<22 base64url>.<secret>`. The part before the dot is the row's id, so
 * a request finds its one row without scanning; the whole token is stored
 * only as hashSecret() (a 256-bit random secret: a fast hash is enough) and
 * compared with verifySecret(), in constant time. Created by the token
 * Worker's admin API (workers/token/src/admin/scim-tokens.ts), checked by
 * the authn Worker's SCIM endpoints (workers/authn/src/scim/authenticate.ts).
 */
const ID_PREFIX = "sct_";
const TOKEN = /^(sct_[A-Za-z0-9_-]{22})\.mas_[A-Za-z0-9_-]{43}$/;

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `${ID_PREFIX}${btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}`;
}

export function generateScimToken(): { id: string; token: string } {
  const id = randomId();
  return { id, token: `${id}.${generateClientSecret()}` };
}

/** The token's row id, or undefined when the string is not shaped like one of our SCIM tokens. */
export function scimTokenId(token: string): string | undefined {
  return TOKEN.exec(token)?.[1];
}
