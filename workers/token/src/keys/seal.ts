/**
 * Sealing of private signing keys at rest: AES-256-GCM under a key derived
 * with HKDF-SHA256 from the KEY_ENCRYPTION_SECRET secret. The kid is the
 * associated data, so a sealed key cannot be swapped onto another row.
 * The secret's length is checked once, in config.ts.
 */
const INFO = new TextEncoder().encode("mono-auth signing-key seal v1");
const SALT = new TextEncoder().encode("mono-auth");

const derived = new Map<string, Promise<CryptoKey>>();

function sealingKey(secret: string): Promise<CryptoKey> {
  let key = derived.get(secret);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey"])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: SALT, info: INFO },
          base,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        ),
      );
    derived.set(secret, key);
  }
  return key;
}

function toBase64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export async function seal(secret: string, kid: string, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(kid) },
      await sealingKey(secret),
      new TextEncoder().encode(plaintext),
    ),
  );
  const out = new Uint8Array(iv.length + ciphertext.length);
  out.set(iv);
  out.set(ciphertext, iv.length);
  return toBase64Url(out);
}

export async function unseal(secret: string, kid: string, sealed: string): Promise<string> {
  const bytes = fromBase64Url(sealed);
  const plaintext = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: new TextEncoder().encode(kid) },
    await sealingKey(secret),
    bytes.slice(12),
  );
  return new TextDecoder().decode(plaintext);
}
