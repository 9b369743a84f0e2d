/**
 * Client secrets are 256-bit random values (never chosen by people), so a
 * fast hash is enough to store them: no dictionary exists to attack. The
 * stored form names its algorithm so it can change later. Comparison is in
 * constant time over the digests (RFC 6749 §10.3: secrets must not leak
 * through timing). Runs in workerd and in Node (the CLI writes operator
 * secrets' hashes itself).
 */
const PREFIX = "sha256:";

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** A new secret: 32 random bytes, base64url, with a prefix a secret scanner can recognise. */
export function generateClientSecret(): string {
  return `mas_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

export async function hashSecret(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret)));
  return `${PREFIX}${toBase64Url(digest)}`;
}

export async function verifySecret(secret: string, stored: string | null | undefined): Promise<boolean> {
  if (!stored?.startsWith(PREFIX)) return false;
  const actual = new TextEncoder().encode(await hashSecret(secret));
  const expected = new TextEncoder().encode(stored);
  if (actual.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < actual.length; i++) diff |= (actual[i] as number) ^ (expected[i] as number);
  return diff === 0;
}
