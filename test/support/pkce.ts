/**
 * A PKCE pair as a client in Node makes one (RFC 7636 §4.1–4.2): a
 * 32-byte random verifier and its S256 challenge, both base64url.
 */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return { verifier, challenge: Buffer.from(new Uint8Array(digest)).toString("base64url") };
}
