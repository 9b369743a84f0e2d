import { createLocalJWKSet, errors as joseErrors, type JWK, type JWTVerifyGetKey } from "jose";
import { BodyTooLargeError, readStreamCapped } from "../../../../shared/http/read-body.ts";
import type { StoredClient } from "./types.ts";
import { PRIVATE_JWK_MEMBERS } from "../../../../shared/jwt/jwk.ts";
import { SingleFlight } from "../../../../shared/isolate/single-flight.ts";
import { isPermittedOutboundUrl, OutboundUrlError } from "../../../../shared/http/outbound-url.ts";
import { assertFetchableUrl } from "../http/own-issuer.ts";

/**
 * The public keys a `private_key_jwt` client signs its assertions with
 * (RFC 7591 §2 `jwks` / `jwks_uri`, RFC 7523 §3 item 9). Inline sets are
 * read from the row; remote sets are fetched with caps on time and size and
 * cached per isolate.
 */

/** The algorithms a client assertion may use: asymmetric only (RFC 8725 §3.1); never `none` or HMAC. */
export const CLIENT_ASSERTION_ALGS = ["ES256", "RS256", "EdDSA"] as const;

/** Most keys one client set may hold; a rotation needs two or three. */
export const MAX_CLIENT_KEYS = 16;
/** Largest JWKS document read from a `jwks_uri`, in bytes. */
export const MAX_JWKS_BYTES = 64 * 1024;
/** How long a `jwks_uri` fetch may take before the assertion is refused. */
const JWKS_FETCH_TIMEOUT_MS = 3_000;
/** How long an isolate trusts a fetched set before it reads it again. */
const JWKS_CACHE_MS = 5 * 60_000;
/**
 * Shortest time between two fetches of one set when an assertion names a
 * key the cached set lacks (the client rotated): a stream of assertions
 * with unknown `kid`s cannot turn into a stream of fetches.
 */
const JWKS_REFETCH_COOLDOWN_MS = 30_000;
/** Most remote sets one isolate holds; the oldest entry goes first. */
const MAX_CACHED_SETS = 256;

export class ClientKeysError extends Error {
  override readonly name = "ClientKeysError";
}

/**
 * A `jwks_uri` we fetch: https (RFC 7591 §2 "jwks_uri"), no credentials or
 * fragment, and not an internal host (shared/http/outbound-url.ts: loopback
 * only when our own `issuer` is a loopback origin, i.e. local development).
 */
export function isAcceptableJwksUri(value: string, issuer: string): boolean {
  return isPermittedOutboundUrl(value, issuer);
}

/**
 * The keys of a JWKS document (RFC 7517 §5) that may verify an assertion:
 * public EC, RSA or OKP keys meant for signatures. Private or symmetric key
 * material is never used (nor accepted at registration: admin/clients.ts).
 */
export function verificationKeys(document: unknown): JWK[] {
  if (typeof document !== "object" || document === null || !Array.isArray((document as { keys?: unknown }).keys)) {
    throw new ClientKeysError("not a JWKS document");
  }
  const keys = (document as { keys: unknown[] }).keys;
  if (keys.length > MAX_CLIENT_KEYS) throw new ClientKeysError(`more than ${MAX_CLIENT_KEYS} keys`);
  return keys.filter((key): key is JWK => isPublicSigningKey(key));
}

function isPublicSigningKey(key: unknown): boolean {
  if (typeof key !== "object" || key === null || Array.isArray(key)) return false;
  const jwk = key as Record<string, unknown>;
  if (jwk.kty !== "EC" && jwk.kty !== "RSA" && jwk.kty !== "OKP") return false;
  if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) return false;
  if (jwk.use !== undefined && jwk.use !== "sig") return false;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes("verify"))) return false;
  return jwk.alg === undefined || (CLIENT_ASSERTION_ALGS as readonly unknown[]).includes(jwk.alg);
}

interface CachedSet {
  keys: JWK[];
  fetchedAt: number;
}

const remoteSets = new Map<string, CachedSet>();
/**
 * Sets whose last fetch failed, with when and why: a stream of assertions
 * naming a dead or failing `jwks_uri` (forged ones cost the sender nothing)
 * makes one fetch per cooldown, not one per request. Bounded like remoteSets.
 */
const failedSets = new Map<string, { failedAt: number; reason: string }>();
/** Concurrent misses share one fetch, taken as data (shared/isolate/single-flight.ts). */
const fetches = new SingleFlight<CachedSet>();

/** The key resolver for a client's assertions: its inline set, or its remote set (cached). */
export async function clientKeyResolver(client: StoredClient): Promise<JWTVerifyGetKey> {
  if (client.jwks !== null) {
    let document: unknown;
    try {
      document = JSON.parse(client.jwks);
    } catch {
      throw new ClientKeysError("stored jwks is not JSON");
    }
    return createLocalJWKSet({ keys: verificationKeys(document) });
  }
  return remoteKeyResolver(remoteUri(client));
}

/**
 * The resolver for any remote set we trust (a client's `jwks_uri`, an
 * ID-JAG issuer's, id-jag/issuer-keys.ts): fetched with the caps above,
 * cached per isolate.
 */
export async function remoteKeyResolver(uri: string): Promise<JWTVerifyGetKey> {
  const cached = remoteSets.get(uri);
  const set = cached && Date.now() - cached.fetchedAt < JWKS_CACHE_MS ? cached : await fetchShared(uri);
  return createLocalJWKSet({ keys: set.keys });
}

/**
 * The resolver after the cached remote set lacked the assertion's key (the
 * client rotated): the set is read again, at most once per cooldown.
 * Undefined when that would change nothing (inline keys, or the cooldown
 * has not passed).
 */
export async function refreshedClientKeyResolver(client: StoredClient): Promise<JWTVerifyGetKey | undefined> {
  if (client.jwks !== null) return undefined;
  return refreshedRemoteKeyResolver(remoteUri(client));
}

/** remoteKeyResolver after the cached set lacked a key: read again, at most once per cooldown. */
export async function refreshedRemoteKeyResolver(uri: string): Promise<JWTVerifyGetKey | undefined> {
  const cached = remoteSets.get(uri);
  if (cached && Date.now() - cached.fetchedAt < JWKS_REFETCH_COOLDOWN_MS) return undefined;
  return createLocalJWKSet({ keys: (await fetchShared(uri)).keys });
}

/**
 * Runs `verify` with a key set and, when the set lacks the JWS's key (the
 * signer rotated: jose's JWKSNoMatchingKey), once more with the set `reread`
 * gives, if any (refreshedClientKeyResolver, refreshedRemoteKeyResolver:
 * at most once per cooldown). Every other failure is `verify`'s own.
 */
export async function verifyWithKeyReread<T>(
  keys: JWTVerifyGetKey,
  reread: () => Promise<JWTVerifyGetKey | undefined>,
  verify: (keys: JWTVerifyGetKey) => Promise<T>,
): Promise<T> {
  try {
    return await verify(keys);
  } catch (error) {
    if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
    const fresh = await reread();
    if (!fresh) throw error;
    return verify(fresh);
  }
}

function remoteUri(client: StoredClient): string {
  if (client.jwksUri === null) throw new ClientKeysError("client has neither jwks nor jwks_uri");
  return client.jwksUri;
}

/**
 * Concurrent misses in one isolate share one fetch; a failure is remembered
 * for the refetch cooldown, so the next requests fail without a fetch.
 */
async function fetchShared(uri: string): Promise<CachedSet> {
  const failed = failedSets.get(uri);
  if (failed && Date.now() - failed.failedAt < JWKS_REFETCH_COOLDOWN_MS) {
    throw new ClientKeysError(`${failed.reason} (not retried before the cooldown)`);
  }
  try {
    const set = await fetches.run(uri, () => fetchKeySet(uri));
    failedSets.delete(uri);
    return set;
  } catch (error) {
    const reason = error instanceof Error ? error.message : "jwks_uri fetch failed";
    failedSets.delete(uri);
    if (failedSets.size >= MAX_CACHED_SETS) failedSets.delete(failedSets.keys().next().value as string);
    failedSets.set(uri, { failedAt: Date.now(), reason });
    throw error;
  }
}

async function fetchKeySet(uri: string): Promise<CachedSet> {
  // Again at fetch time: a row stored before the guard, or written around the admin API, is refused too.
  try {
    assertFetchableUrl(uri);
  } catch (error) {
    if (error instanceof OutboundUrlError) throw new ClientKeysError(`jwks_uri not acceptable: ${error.message}`);
    throw error;
  }
  let response: Response;
  try {
    // No redirects: the registered URI is the one trusted, not wherever it points.
    response = await fetch(uri, {
      redirect: "manual",
      headers: { Accept: "application/json" },
      signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ClientKeysError(`jwks_uri fetch failed: ${error instanceof Error ? error.name : "unknown"}`);
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new ClientKeysError(`jwks_uri answered ${response.status}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder().decode(await readStreamCapped(response.body, MAX_JWKS_BYTES)));
  } catch (error) {
    throw new ClientKeysError(
      error instanceof BodyTooLargeError
        ? `jwks_uri document larger than ${MAX_JWKS_BYTES} bytes`
        : "jwks_uri did not return JSON",
    );
  }
  const set = { keys: verificationKeys(document), fetchedAt: Date.now() };
  if (remoteSets.size >= MAX_CACHED_SETS) remoteSets.delete(remoteSets.keys().next().value as string);
  remoteSets.set(uri, set);
  return set;
}
