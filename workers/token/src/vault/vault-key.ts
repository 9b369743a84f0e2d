import { base64url } from "jose";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { secretVar } from "../../../../shared/config/vars.ts";
import { vaultOrgKey } from "../../../../shared/db/vault-schema.ts";
import { deriveKeyFromSecret } from "../keys/derive-key.ts";
import { VaultError } from "./errors.ts";

/** HKDF input: at least 256 bits when the secret is random text. */
const MIN_VAULT_KEY_LENGTH = 32;
const WRAP_LABEL = "mono-auth vault key-wrap v1";
const IV_BYTES = 12;

/**
 * The VAULT_KEY secret, checked (a secret of its own, not
 * KEY_ENCRYPTION_SECRET: whoever can read signing keys cannot read saved
 * tokens, and either can be rotated without the other). Only the token
 * Worker holds it; the gateway asks the token Worker's VaultService for one
 * token at a time (vault/vault-service.ts).
 */
export function vaultSecret(env: { VAULT_KEY?: string }): string {
  return secretVar("VAULT_KEY", env.VAULT_KEY, MIN_VAULT_KEY_LENGTH);
}

function wrappingKey(secret: string): Promise<CryptoKey> {
  return deriveKeyFromSecret(secret, WRAP_LABEL, { name: "AES-GCM", length: 256 }, ["encrypt", "decrypt"]);
}

/** The org id is the associated data: a wrapped key copied to another org's row does not unwrap. */
function wrapAad(orgId: string) {
  return new TextEncoder().encode(`${WRAP_LABEL}\u0000${orgId}`);
}

async function wrap(secret: string, orgId: string, raw: Uint8Array<ArrayBuffer>): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: wrapAad(orgId) },
      await wrappingKey(secret),
      raw,
    ),
  );
  const out = new Uint8Array(IV_BYTES + sealed.length);
  out.set(iv);
  out.set(sealed, IV_BYTES);
  return base64url.encode(out);
}

async function unwrap(secret: string, orgId: string, wrapped: string): Promise<CryptoKey> {
  let raw: ArrayBuffer;
  try {
    const bytes = base64url.decode(wrapped);
    raw = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.slice(0, IV_BYTES), additionalData: wrapAad(orgId) },
      await wrappingKey(secret),
      bytes.slice(IV_BYTES),
    );
  } catch {
    throw new VaultError("ERR_VAULT_KEY_UNWRAP", `the data key of org ${orgId} does not unwrap under VAULT_KEY`);
  }
  return crypto.subtle.importKey("raw", raw, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

/** Unwrapped keys per isolate, by secret and org: a key is unwrapped once, then reused. */
const unwrapped = new Map<string, Promise<CryptoKey>>();
const MAX_CACHED_KEYS = 1000;

/**
 * The org's data key, created on first use. Creation is INSERT OR IGNORE and
 * a re-read, so two isolates racing agree on one key (the loser's is never
 * used for anything).
 */
export function orgDataKey(db: D1Database, secret: string, orgId: string): Promise<CryptoKey> {
  const cacheKey = `${secret.length}:${secret}\u0000${orgId}`;
  let key = unwrapped.get(cacheKey);
  if (!key) {
    key = loadOrCreate(db, secret, orgId);
    // A failure is not cached: the next request tries again.
    key.catch(() => unwrapped.delete(cacheKey));
    if (unwrapped.size >= MAX_CACHED_KEYS) unwrapped.delete(unwrapped.keys().next().value as string);
    unwrapped.set(cacheKey, key);
  }
  return key;
}

async function loadOrCreate(db: D1Database, secret: string, orgId: string): Promise<CryptoKey> {
  const orm = drizzle(db);
  const read = () => orm.select().from(vaultOrgKey).where(eq(vaultOrgKey.orgId, orgId)).get();
  let row = await read();
  if (!row) {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    await orm
      .insert(vaultOrgKey)
      .values({ orgId, wrappedKey: await wrap(secret, orgId, raw), createdAt: new Date() })
      .onConflictDoNothing();
    row = await read();
    if (!row) throw new Error("vault org key not written");
  }
  return unwrap(secret, orgId, row.wrappedKey);
}
