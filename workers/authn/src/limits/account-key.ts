/**
 * The account an attempt is aimed at, as rate-limit keys and audit records
 * name it: a keyed hash of the normalised email, never the email itself.
 * Keyed (HMAC under a key derived from BETTER_AUTH_SECRET), because a plain
 * hash of an email is reversed by hashing a list of addresses.
 */
import { base64url, purposeKey } from "../security/expiring-mac.ts";

/** Better Auth stores and compares emails lower-cased (and we trim as the forms do). */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

// A key of its own, so this hash can never be mistaken for (or collide
// with) anything Better Auth signs with the same secret.
const DERIVATION_LABEL = "mono-auth account key v1";

/** base64url(HMAC-SHA-256(derived key, normalised email)): 43 characters. */
export async function accountHash(secret: string, email: string): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await purposeKey(secret, DERIVATION_LABEL),
    new TextEncoder().encode(normaliseEmail(email)),
  );
  return base64url(mac);
}
