import { and, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { JWKS_KV_TTL_SECONDS, KV_KEY } from "../../../../shared/contracts/storage-keys.ts";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import { signingKey } from "../../../../shared/db/schema.ts";
import { seal, unseal } from "./seal.ts";

export type KeyBindings = Pick<TokenEnv, "DB" | "KV" | "KEY_ENCRYPTION_SECRET">;

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

export interface Jwks {
  keys: JWK[];
}

/** How long an isolate signs with the key it loaded before re-reading D1 (picks up rotations). */
const KEY_CACHE_MS = 60_000;

let cached: { key: SigningKey; loadedAt: number } | undefined;

/**
 * The key that signs now. Created on first need; when isolates race to
 * create it, the partial unique index on `status = 'current'` lets exactly
 * one INSERT win and every racer then signs with the winner.
 */
export async function currentSigningKey(env: KeyBindings): Promise<SigningKey> {
  if (cached && Date.now() - cached.loadedAt < KEY_CACHE_MS) return cached.key;
  const db = drizzle(env.DB);
  let row = await db.select().from(signingKey).where(eq(signingKey.status, "current")).get();
  if (!row) {
    await insertNewKey(env);
    row = await db.select().from(signingKey).where(eq(signingKey.status, "current")).get();
    if (!row) throw new Error("no current signing key after creation");
    await publishJwks(env);
  }
  const jwk = JSON.parse(await unseal(env.KEY_ENCRYPTION_SECRET, row.kid, row.privateJwkSealed)) as JWK;
  const key = { kid: row.kid, privateKey: (await importJWK(jwk, SIGNING_ALG)) as CryptoKey };
  cached = { key, loadedAt: Date.now() };
  return key;
}

async function insertNewKey(env: KeyBindings): Promise<void> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  // RFC 7638 thumbprint: the same key always has the same kid.
  const kid = await calculateJwkThumbprint(publicJwk);
  const sealed = await seal(env.KEY_ENCRYPTION_SECRET, kid, JSON.stringify(await exportJWK(privateKey)));
  await drizzle(env.DB)
    .insert(signingKey)
    .values({
      kid,
      alg: SIGNING_ALG,
      status: "current",
      publicJwk: JSON.stringify({ ...publicJwk, kid, alg: SIGNING_ALG, use: "sig" }),
      privateJwkSealed: sealed,
      createdAt: new Date(),
    })
    .onConflictDoNothing();
}

/** The JWKS as D1 has it: every key that may still verify a live token. */
export async function jwksFromDatabase(env: Pick<KeyBindings, "DB">): Promise<Jwks> {
  const rows = await drizzle(env.DB)
    .select({ publicJwk: signingKey.publicJwk })
    .from(signingKey)
    .where(and(inArray(signingKey.status, ["current", "previous"]), eq(signingKey.alg, SIGNING_ALG)))
    .all();
  return { keys: rows.map((r) => JSON.parse(r.publicJwk) as JWK) };
}

/** Rebuilds the KV copy of the JWKS from D1 (the gateway reads it there). */
export async function publishJwks(env: Pick<KeyBindings, "DB" | "KV">): Promise<Jwks> {
  const jwks = await jwksFromDatabase(env);
  await env.KV.put(KV_KEY.jwks, JSON.stringify(jwks), { expirationTtl: JWKS_KV_TTL_SECONDS });
  return jwks;
}

/**
 * The JWKS for /.well-known/jwks.json: the KV copy when there is one, else
 * (or when the caller asks for a fresh one) rebuilt from D1. An empty D1
 * gets its first key here, so a verifier never sees an empty set.
 */
export async function readJwks(env: KeyBindings, options: { fresh: boolean }): Promise<Jwks> {
  if (!options.fresh) {
    const stored = await env.KV.get<Jwks>(KV_KEY.jwks, "json");
    if (stored && Array.isArray(stored.keys) && stored.keys.length > 0) return stored;
  }
  const jwks = await publishJwks(env);
  if (jwks.keys.length > 0) return jwks;
  await currentSigningKey(env);
  return publishJwks(env);
}
