import { base64url } from "jose";
import { deriveKeyFromSecret } from "./derive-key.ts";

/**
 * Sealing of private signing keys at rest: AES-256-GCM under a key derived
 * from the KEY_ENCRYPTION_SECRET secret (keys/derive-key.ts). The kid is the
 * associated data, so a sealed key cannot be swapped onto another row.
 */
function sealingKey(secret: string): Promise<CryptoKey> {
  return deriveKeyFromSecret(secret, "mono-auth signing-key seal v1", { name: "AES-GCM", length: 256 }, [
    "encrypt",
    "decrypt",
  ]);
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
  return base64url.encode(out);
}

export async function unseal(secret: string, kid: string, sealed: string): Promise<string> {
  const bytes = base64url.decode(sealed);
  const plaintext = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: new TextEncoder().encode(kid) },
    await sealingKey(secret),
    bytes.slice(12),
  );
  return new TextDecoder().decode(plaintext);
}
