import { KV_KEY } from "../../../../shared/contracts/storage-keys.ts";
import { type Jwks, jwksFromDatabase, type KeyStore, loadCurrentSigningKey, publishJwks } from "./signing-keys.ts";

/**
 * The JWKS public clients get: the KV copy. Nothing a client sends changes
 * that (a `Cache-Control: no-cache` from anyone must not turn into a D1 read
 * and a KV write per request). Only when KV holds no JWKS — a fresh
 * deployment, or the copy was deleted — is it rebuilt from D1 and written
 * back; concurrent misses in one isolate share that one rebuild.
 */
export async function publishedJwks(store: KeyStore): Promise<Jwks> {
  const stored = await store.KV.get<Jwks>(KV_KEY.jwks, "json");
  if (stored && Array.isArray(stored.keys) && stored.keys.length > 0) return stored;
  rebuilding ??= rebuildPublishedJwks(store).finally(() => {
    rebuilding = undefined;
  });
  return rebuilding;
}

let rebuilding: Promise<Jwks> | undefined;

async function rebuildPublishedJwks(store: KeyStore): Promise<Jwks> {
  const jwks = await publishJwks(store);
  if (jwks.keys.length > 0) return jwks;
  // An empty D1 gets its first key here (which publishes it), so a verifier
  // never sees an empty set.
  await loadCurrentSigningKey(store);
  return publishJwks(store);
}

/**
 * The JWKS as D1 has it, for a verifier that met a `kid` the KV copy does
 * not hold yet (the RPC entrypoint, rpc/token-service.ts). Creates the first
 * key if there is none, like the public endpoint.
 */
export async function databaseJwks(store: KeyStore): Promise<Jwks> {
  const jwks = await jwksFromDatabase(store.DB);
  if (jwks.keys.length > 0) return jwks;
  await loadCurrentSigningKey(store);
  return jwksFromDatabase(store.DB);
}
