import { base64url } from "jose";

/**
 * RFC 9449 §4.2 `ath`: the base64url SHA-256 hash of the ASCII access token
 * a proof is sent with, binding the proof to that one token.
 */
export async function accessTokenHash(accessToken: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessToken));
  return base64url.encode(new Uint8Array(digest));
}
