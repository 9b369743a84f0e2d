import { importJWK, type JWK } from "jose";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import type { KeyResolver } from "../../../../shared/jwt/verify-access-token.ts";
import { jwksFromDatabase } from "./signing-keys.ts";

/** Imported public keys by their JWK text; which kids are live is read from D1 per resolver. */
const imported = new Map<string, Promise<CryptoKey>>();

/**
 * A key resolver (shared/jwt/verify-access-token.ts) over the JWKS as D1
 * has it, read once per resolver: make one per request. The token Worker's
 * own checks (introspection, revocation) use it, so a key an emergency
 * rotation retired (keys/rotation.ts) stops verifying here at once, with no
 * cache in between.
 */
export function databaseKeyResolver(db: D1Database): KeyResolver {
  let keys: Promise<JWK[]> | undefined;
  return async (kid) => {
    keys ??= jwksFromDatabase(db).then((jwks) => jwks.keys);
    const jwk = (await keys).find((key) => key.kid === kid);
    if (!jwk) return undefined;
    const text = JSON.stringify(jwk);
    let key = imported.get(text);
    if (!key) {
      key = importJWK(jwk, SIGNING_ALG) as Promise<CryptoKey>;
      key.catch(() => imported.delete(text));
      imported.set(text, key);
    }
    return key;
  };
}
