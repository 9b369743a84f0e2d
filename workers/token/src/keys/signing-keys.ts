import { and, eq, inArray, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { importJWK, type JWK } from "jose";
import { KV_KEY } from "../../../../shared/contracts/storage-keys.ts";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import { signingKey } from "../../../../shared/db/schema.ts";
import { preparedPerDatabase } from "../clients/prepared-query.ts";
import type { TokenConfig } from "../config.ts";
import { generateSigningKey } from "./generate-key.ts";
import { unseal } from "./seal.ts";

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

/**
 * How long an isolate signs with the key it loaded before re-reading D1.
 * This bounds how long a rotation takes to reach every isolate: after an
 * emergency rotation (keys/rotation.ts) another isolate may still sign with
 * the compromised key for up to this long, and those tokens fail
 * verification at once (the key is out of the JWKS). After a normal
 * rotation the old key keeps verifying, and its retirement window counts
 * this bound in. One D1 read per isolate per window is the price.
 */
export const SIGNING_KEY_CACHE_MS = 10_000;

/**
 * The statuses whose keys are published (RFC 7517 §5): `next` before it
 * signs, `current`, and `previous` until every token it signed has expired.
 */
export const PUBLISHED_STATUSES = ["next", "current", "previous"] as const;

let cached: { key: SigningKey; loadedAt: number } | undefined;

/**
 * The key that signs now. Created on first need; when isolates race to
 * create it, the partial unique index on `status = 'current'` lets exactly
 * one INSERT win and every racer then signs with the winner.
 */
export async function currentSigningKey(store: KeyStore): Promise<SigningKey> {
  if (cached && Date.now() - cached.loadedAt < SIGNING_KEY_CACHE_MS) return cached.key;
  return loadCurrentSigningKey(store);
}

/** Drops this isolate's cached key, so the next mint reads D1 (after a rotation made here). */
export function forgetCachedSigningKey(): void {
  cached = undefined;
}

/** As currentSigningKey, but always from D1 (creating the first key if there is none). */
export async function loadCurrentSigningKey(store: KeyStore): Promise<SigningKey> {
  const db = drizzle(store.DB);
  let row = await db.select().from(signingKey).where(eq(signingKey.status, "current")).get();
  if (!row) {
    await insertFirstKey(store);
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

async function insertFirstKey(store: KeyStore): Promise<void> {
  const key = await generateSigningKey(store.sealingSecret);
  await drizzle(store.DB)
    .insert(signingKey)
    .values({ ...key, status: "current", createdAt: new Date(key.createdAt) })
    .onConflictDoNothing();
}

/** The JWKS as D1 has it: the next key and every key that may still verify a live token. */
export async function jwksFromDatabase(db: D1Database): Promise<Jwks> {
  const rows = await publishedKeysQuery(db).all();
  return { keys: rows.map((r) => JSON.parse(r.publicJwk) as JWK) };
}

/** Read on every token exchange (keys/database-key-resolver.ts), so built once (clients/prepared-query.ts). */
const publishedKeysQuery = preparedPerDatabase((db) =>
  drizzle(db)
    .select({ publicJwk: signingKey.publicJwk })
    .from(signingKey)
    .where(and(inArray(signingKey.status, [...PUBLISHED_STATUSES]), eq(signingKey.alg, SIGNING_ALG)))
    .orderBy(signingKey.createdAt)
    .prepare(),
);

/**
 * The same keys as jwksFromDatabase, in the same order, as one JSON array
 * column another query can carry (clients/registry.ts reads them with the
 * client, in one statement, for a request that verifies our tokens).
 */
export const publishedJwksColumn = sql<string>`(
  select json_group_array(json(published.public_jwk)) from (
    select public_jwk from signing_key
    where status in (${sql.join(
      PUBLISHED_STATUSES.map((status) => sql`${status}`),
      sql`, `,
    )}) and alg = ${SIGNING_ALG}
    order by created_at
  ) as published
)`;

/** publishedJwksColumn's value as a JWKS; anything but an array of objects is no key at all. */
export function publishedJwksFromColumn(column: string | null): Jwks {
  const parsed: unknown = column === null ? [] : JSON.parse(column);
  if (!Array.isArray(parsed)) return { keys: [] };
  return { keys: parsed.filter((k): k is JWK => typeof k === "object" && k !== null) };
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
