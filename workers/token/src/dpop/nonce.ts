import { base64url } from "jose";
import { deriveKeyFromSecret } from "../keys/derive-key.ts";

/**
 * RFC 9449 §8 nonces for the token endpoint, stateless: a nonce is the
 * number of a time window and an HMAC-SHA256 of it, so any isolate can
 * issue and check one without storage. A nonce is accepted during the
 * window it was issued in and the next one (5 to 10 minutes): a proof that
 * carries it was made after the server handed the nonce out, which is what
 * the nonce is for (§11.1: proofs cannot be pre-generated for later use).
 * Every client of a window gets the same nonce; it is a freshness token,
 * not a secret. The HMAC key is derived with HKDF from KEY_ENCRYPTION_SECRET
 * under its own label, so it is independent of the key that seals signing
 * keys (keys/derive-key.ts).
 */
export const DPOP_NONCE_WINDOW_SECONDS = 300;

const NONCE = /^([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/;

let issued: { secret: string; window: number; nonce: string } | undefined;

function nonceKey(secret: string): Promise<CryptoKey> {
  return deriveKeyFromSecret(secret, "mono-auth dpop-nonce v1", { name: "HMAC", hash: "SHA-256", length: 256 }, [
    "sign",
    "verify",
  ]);
}

const windowOf = (nowSeconds: number) => Math.floor(nowSeconds / DPOP_NONCE_WINDOW_SECONDS);

/** The nonce of the current window (the same for every request of the window, computed once per isolate). */
export async function currentDpopNonce(secret: string, nowSeconds: number): Promise<string> {
  const window = windowOf(nowSeconds);
  if (issued?.window === window && issued.secret === secret) return issued.nonce;
  const mac = await crypto.subtle.sign("HMAC", await nonceKey(secret), new TextEncoder().encode(String(window)));
  const nonce = `${window}.${base64url.encode(new Uint8Array(mac))}`;
  issued = { secret, window, nonce };
  return nonce;
}

/** Whether `nonce` was issued by us in this window or the one before (compared in constant time). */
export async function isAcceptedDpopNonce(secret: string, nonce: string, nowSeconds: number): Promise<boolean> {
  const match = NONCE.exec(nonce);
  if (!match) return false;
  const window = Number(match[1]);
  const current = windowOf(nowSeconds);
  if (window !== current && window !== current - 1) return false;
  let mac: Uint8Array;
  try {
    mac = base64url.decode(match[2] as string);
  } catch {
    return false;
  }
  return crypto.subtle.verify("HMAC", await nonceKey(secret), mac, new TextEncoder().encode(String(window)));
}
