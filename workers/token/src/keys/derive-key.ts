/** One salt for every key derived from KEY_ENCRYPTION_SECRET; the label (HKDF `info`) keeps them apart. */
const SALT = new TextEncoder().encode("mono-auth");

/**
 * What a derived key is for: written as literals both the Workers runtime's
 * and the DOM's WebCrypto types accept, so Node-side tests can unseal too.
 */
type DerivedKeyAlgorithm = { name: "AES-GCM"; length: 256 } | { name: "HMAC"; hash: "SHA-256"; length: 256 };
type DerivedKeyUsage = "encrypt" | "decrypt" | "sign" | "verify";

/** Derived keys by label, then by secret: derivation runs once per isolate for each. */
const derived = new Map<string, Map<string, Promise<CryptoKey>>>();

/**
 * A key derived with HKDF-SHA256 (RFC 5869) from the KEY_ENCRYPTION_SECRET
 * secret under its own label, so each use (sealing signing keys,
 * keys/seal.ts; DPoP nonces, dpop/nonce.ts) has a key independent of every
 * other's and none needs a secret of its own. A label names its use and
 * version ("mono-auth <use> v1"): changing it changes the key. Not
 * extractable. The secret's length is checked once, in config.ts.
 */
export function deriveKeyFromSecret(
  secret: string,
  label: string,
  algorithm: DerivedKeyAlgorithm,
  usages: DerivedKeyUsage[],
): Promise<CryptoKey> {
  let byLabel = derived.get(label);
  if (!byLabel) {
    byLabel = new Map();
    derived.set(label, byLabel);
  }
  let key = byLabel.get(secret);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey"])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: SALT, info: new TextEncoder().encode(label) },
          base,
          algorithm,
          false,
          usages,
        ),
      );
    byLabel.set(secret, key);
  }
  return key;
}
