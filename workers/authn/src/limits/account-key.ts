/**
 * The account an attempt is aimed at, as rate-limit keys and audit records
 * name it: a keyed hash of the normalised email, never the email itself.
 * Keyed (HMAC under a key derived from BETTER_AUTH_SECRET), because a plain
 * hash of an email is reversed by hashing a list of addresses.
 */

/** Better Auth stores and compares emails lower-cased (and we trim as the forms do). */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

const DERIVATION_LABEL = "mono-auth account key v1";
const keys = new Map<string, Promise<CryptoKey>>();

function accountHashKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = (async () => {
      const encoder = new TextEncoder();
      const root = await crypto.subtle.importKey(
        "raw",
        encoder.encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      // A key of its own, so this hash can never be mistaken for (or
      // collide with) anything Better Auth signs with the same secret.
      const derived = await crypto.subtle.sign("HMAC", root, encoder.encode(DERIVATION_LABEL));
      return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    })();
    keys.set(secret, key);
  }
  return key;
}

/** base64url(HMAC-SHA-256(derived key, normalised email)): 43 characters. */
export async function accountHash(secret: string, email: string): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await accountHashKey(secret),
    new TextEncoder().encode(normaliseEmail(email)),
  );
  let binary = "";
  for (const byte of new Uint8Array(mac)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
