import { and, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { KV_KEY } from "../../../../shared/contracts/storage-keys.ts";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import { signingKey } from "../../../../shared/db/schema.ts";
import type { TokenConfig } from "../config.ts";
import { seal, unseal } from "./seal.ts";

/** Where the keys live: D1 is the truth, KV holds the public copy the gateway reads. */
export interface KeyStore {
  DB: D1Database;
  KV: KVNamespace;
  sealingSecret: string;
}

export function keyStore(env: Pick<TokenEnv, "DB" | "KV">, config: TokenConfig): KeyStore {
  return { DB: env.DB, KV: env.KV, sealingSecret: config.keyEncryptionSecret };
}

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
export async function currentSigningKey(store: KeyStore): Promise<SigningKey> {
  if (cached && Date.now() - cached.loadedAt < KEY_CACHE_MS) return cached.key;
  return loadCurrentSigningKey(store);
}

/** As currentSigningKey, but always from D1 (creating the first key if there is none). */
export async function loadCurrentSigningKey(store: KeyStore): Promise<SigningKey> {
  const db = drizzle(store.DB);
  let row = await db.select().from(signingKey).where(eq(signingKey.status, "current")).get();
  if (!row) {
    await insertNewKey(store);
    row = await db.select().from(signingKey).where(eq(signingKey.status, "current")).get();
    if (!row) throw new Error("no current signing key after creation");
    // The key set changed: this is when the KV copy is rewritten.
    await publishJwks(store);
  }
  const jwk = JSON.parse(await unseal(store.sealingSecret, row.kid, row.privateJwkSealed)) as JWK;
  const key = { kid: row.kid, privateKey: (await importJWK(jwk, SIGNING_ALG)) as CryptoKey };
  cached = { key, loadedAt: Date.now() };
  return key;
}

async function insertNewKey(store: KeyStore): Promise<void> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  // RFC 7638 thumbprint: the same key always has the same kid.
  const kid = await calculateJwkThumbprint(publicJwk);
  const sealed = await seal(store.sealingSecret, kid, JSON.stringify(await exportJWK(privateKey)));
  await drizzle(store.DB)
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
export async function jwksFromDatabase(db: D1Database): Promise<Jwks> {
  const rows = await drizzle(db)
    .select({ publicJwk: signingKey.publicJwk })
    .from(signingKey)
    .where(and(inArray(signingKey.status, ["current", "previous"]), eq(signingKey.alg, SIGNING_ALG)))
    .all();
  return { keys: rows.map((r) => JSON.parse(r.publicJwk) as JWK) };
}

/**
 * Rewrites the KV copy of the JWKS from D1. Called when the key set changes
 * (and when KV lost its copy), never on a read: the copy has no expiration,
 * so between changes every JWKS read is one KV read and nothing else.
 */
export async function publishJwks(store: Pick<KeyStore, "DB" | "KV">): Promise<Jwks> {
  const jwks = await jwksFromDatabase(store.DB);
  if (jwks.keys.length > 0) await store.KV.put(KV_KEY.jwks, JSON.stringify(jwks));
  return jwks;
}
