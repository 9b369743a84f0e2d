import { deriveKeyFromSecret } from "../keys/derive-key.ts";

/**
 * The key of the audit chain heads' MAC (shared/audit/chain.ts, headMac),
 * derived from KEY_ENCRYPTION_SECRET under its own label: the audit
 * database never holds it, so a write to that database alone cannot make a
 * head that verifies.
 */
export function auditHeadKey(secret: string): Promise<CryptoKey> {
  return deriveKeyFromSecret(secret, "mono-auth audit-head v1", { name: "HMAC", hash: "SHA-256", length: 256 }, [
    "sign",
    "verify",
  ]);
}
