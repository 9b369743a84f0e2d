import { importJWK, type JWK } from "jose";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import type { KeyResolver } from "../../../../shared/jwt/verify-access-token.ts";
import { type Jwks, jwksFromDatabase, SIGNING_KEY_CACHE_MS } from "./signing-keys.ts";

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
  const resolver = resolverOver(() => jwksFromDatabase(db));
  // Read now, so the read overlaps other work; a failure surfaces at the first lookup.
  if (options.readNow) resolver.read().catch(() => undefined);
  return resolver.resolveKey;
}

/** A request's resolver whose keys another D1 read of the request may bring (keysWithClientRead). */
export interface KeysWithClientRead {
  resolveKey: KeyResolver;
  /** Hands over the keys a query read with the client (ClientAuthContext.onPublishedKeys). */
  deliver: (jwks: Jwks) => void;
  /** Reads them on their own if nothing delivered them (no client row was read: a public or unknown client). */
  readIfNotDelivered: () => void;
}

/**
 * databaseKeyResolver for a request that reads its client from D1 first
 * (endpoints/token.ts): the client's query brings our published keys in the
 * same statement (clients/registry.ts), so verifying the request's tokens
 * costs no D1 read of its own. The keys are this request's read of D1 all
 * the same: an emergency-retired key stops verifying here at once.
 */
export function keysWithClientRead(db: D1Database): KeysWithClientRead {
  let settled = false;
  let resolve!: (jwks: Jwks) => void;
  let reject!: (error: unknown) => void;
  const keys = new Promise<Jwks>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  keys.catch(() => undefined);
  const resolver = resolverOver(() => keys);
  return {
    resolveKey: resolver.resolveKey,
    deliver: (jwks) => {
      if (settled) return;
      settled = true;
      resolve(jwks);
    },
    readIfNotDelivered: () => {
      if (settled) return;
      settled = true;
      jwksFromDatabase(db).then(resolve, reject);
    },
  };
}

/** Lookups by kid over one read of our keys (made on the first lookup), each imported once per isolate. */
function resolverOver(load: () => Promise<Jwks>): {
  read: () => Promise<ReadonlyMap<string, JWK>>;
  resolveKey: KeyResolver;
} {
  let keys: Promise<ReadonlyMap<string, JWK>> | undefined;
  const read = () => {
    const startedAt = Date.now();
    return (keys ??= load().then((jwks) => {
      const byKid = new Map(jwks.keys.flatMap((k) => (typeof k.kid === "string" ? [[k.kid, k] as const] : [])));
      remember(byKid, startedAt);
      return byKid;
    }));
  };
  return {
    read,
    resolveKey: async (kid) => {
      const jwk = (await read()).get(kid);
      return jwk ? importOnce(kid, jwk) : undefined;
    },
  };
}

/**
 * The keys the latest D1 read in this isolate found published, as JWK text
 * by kid, and when that read started (recentKeyResolver).
 */
let latestRead: { startedAt: number; jwks: ReadonlyMap<string, string> } | undefined;

/**
 * How old the latest read may be for recentKeyResolver to use it. Not what
 * makes a token valid (the request's own read does that), only which keys
 * may start work before it answers; SIGNING_KEY_CACHE_MS is the bound the
 * issuer already accepts for a rotation to reach every isolate.
 */
const RECENT_READ_MS = SIGNING_KEY_CACHE_MS;

function remember(byKid: ReadonlyMap<string, JWK>, startedAt: number): void {
  if (latestRead && latestRead.startedAt > startedAt) return;
  latestRead = { startedAt, jwks: new Map([...byKid].map(([kid, jwk]) => [kid, JSON.stringify(jwk)])) };
}

/**
 * A key resolver without I/O, for work a request starts before its own read
 * of our keys answers (grants/token-exchange-prefetch.ts): a key this
 * isolate imported, when the latest D1 read here, at most RECENT_READ_MS
 * ago, published it with the same JWK. Never the last word on a token: the
 * key it gave must be the very key the request's own resolver gives
 * (the same CryptoKey: importOnce keeps one per kid and JWK text), or
 * whatever was verified with it is verified again.
 */
export function recentKeyResolver(now = Date.now()): KeyResolver | undefined {
  const read = latestRead;
  if (!read || now - read.startedAt > RECENT_READ_MS) return undefined;
  return async (kid) => {
    const text = read.jwks.get(kid);
    const hit = imported.get(kid);
    return text !== undefined && hit?.jwk === text ? hit.key : undefined;
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
