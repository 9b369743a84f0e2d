import { importJWK, type JWK } from "jose";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import type { KeyResolver } from "../../../../shared/jwt/verify-access-token.ts";
import { jwksFromDatabase } from "../keys/signing-keys.ts";

/** Imported public keys by kid and JWK text: importing is the costly part, and a kid's key never changes. */
const imported = new Map<string, { jwk: string; key: CryptoKey }>();
/** Most imported keys one isolate holds (a rotation keeps two or three live). */
const MAX_IMPORTED = 16;

/**
 * Our own verification keys for one request, as D1 has them now: a key that
 * was retired a moment ago no longer verifies here, whatever the gateway's
 * cached JWKS still holds (the token Worker mints, so it reads the truth).
 * The set is read at most once per request, on the first lookup.
 */
export function ourKeyResolver(db: D1Database): KeyResolver {
  let keys: Promise<ReadonlyMap<string, JWK>> | undefined;
  return async (kid) => {
    keys ??= jwksFromDatabase(db).then(
      (jwks) => new Map(jwks.keys.flatMap((k) => (typeof k.kid === "string" ? [[k.kid, k] as const] : []))),
    );
    const jwk = (await keys).get(kid);
    return jwk ? importOnce(kid, jwk) : undefined;
  };
}

async function importOnce(kid: string, jwk: JWK): Promise<CryptoKey> {
  const text = JSON.stringify(jwk);
  const hit = imported.get(kid);
  if (hit && hit.jwk === text) return hit.key;
  const key = (await importJWK(jwk, SIGNING_ALG)) as CryptoKey;
  if (imported.size >= MAX_IMPORTED) imported.delete(imported.keys().next().value as string);
  imported.set(kid, { jwk: text, key });
  return key;
}
