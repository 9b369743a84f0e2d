import { importJWK, type JWK } from "jose";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import type { KeyResolver } from "../../../../shared/jwt/verify-access-token.ts";
import { jwksFromDatabase } from "./signing-keys.ts";

/**
 * Imported public keys by kid, with the JWK text they came from: importing
 * is the costly part. Which kids are live is never read from here (that is
 * D1, per resolver); a kid whose JWK text differs is imported afresh.
 */
const imported = new Map<string, { jwk: string; key: Promise<CryptoKey> }>();
/** Most imported keys one isolate holds (a rotation keeps two or three live). */
const MAX_IMPORTED = 16;

/**
 * A key resolver (shared/jwt/verify-access-token.ts) over our verification
 * keys as D1 has them now, read at most once per resolver, on the first
 * lookup: make one per request. Every check of the token Worker's own
 * (token exchange, ID-JAG redemption, introspection, revocation, the admin
 * API) uses it, so a key an emergency rotation retired (keys/rotation.ts) no
 * longer verifies here at once, whatever the gateway's cached JWKS still
 * holds: the token Worker mints, so it reads the truth.
 */
export function databaseKeyResolver(db: D1Database, options: { readNow?: boolean } = {}): KeyResolver {
  let keys: Promise<ReadonlyMap<string, JWK>> | undefined;
  const read = () =>
    (keys ??= jwksFromDatabase(db).then(
      (jwks) => new Map(jwks.keys.flatMap((k) => (typeof k.kid === "string" ? [[k.kid, k] as const] : []))),
    ));
  // Read now, so the read overlaps other work (endpoints/token.ts); a failure surfaces at the first lookup.
  if (options.readNow) read().catch(() => undefined);
  return async (kid) => {
    const jwk = (await read()).get(kid);
    return jwk ? importOnce(kid, jwk) : undefined;
  };
}

/** Concurrent lookups of one kid share one import; a failed import is forgotten. */
function importOnce(kid: string, jwk: JWK): Promise<CryptoKey> {
  const text = JSON.stringify(jwk);
  const hit = imported.get(kid);
  if (hit && hit.jwk === text) return hit.key;
  const key = importJWK(jwk, SIGNING_ALG) as Promise<CryptoKey>;
  key.catch(() => {
    if (imported.get(kid)?.key === key) imported.delete(kid);
  });
  imported.delete(kid);
  if (imported.size >= MAX_IMPORTED) imported.delete(imported.keys().next().value as string);
  imported.set(kid, { jwk: text, key });
  return key;
}
