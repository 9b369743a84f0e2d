// RFC 6238 TOTP (and RFC 4226 HOTP underneath) for tests: SHA-1, 6 digits,
// 30 s steps, the parameters Better Auth's twoFactor plugin uses. WebCrypto
// only, so it runs in workerd and in Node alike.

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 §6 base32, as otpauth URIs carry the secret (no padding). */
export function base32Decode(text: string): Uint8Array<ArrayBuffer> {
  const clean = text.replace(/=+$/, "").toUpperCase();
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of clean) {
    const value = BASE32.indexOf(char);
    if (value < 0) throw new Error(`not base32: ${char}`);
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  return new Uint8Array(bytes);
}

/** The `secret` parameter of an `otpauth://totp/...` URI. */
export function secretFromOtpauthUri(uri: string): string {
  const secret = new URL(uri).searchParams.get("secret");
  if (!secret) throw new Error("otpauth URI without a secret");
  return secret;
}

/** RFC 4226 §5.3: HOTP(K, C) truncated to `digits` decimal digits. */
async function hotp(key: Uint8Array<ArrayBuffer>, counter: number, digits: number): Promise<string> {
  const message = new ArrayBuffer(8);
  const view = new DataView(message);
  view.setUint32(0, Math.floor(counter / 2 ** 32));
  view.setUint32(4, counter >>> 0);
  const hmacKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, message));
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const binary =
    (((mac[offset] ?? 0) & 0x7f) << 24) |
    ((mac[offset + 1] ?? 0) << 16) |
    ((mac[offset + 2] ?? 0) << 8) |
    (mac[offset + 3] ?? 0);
  return String(binary % 10 ** digits).padStart(digits, "0");
}

/** RFC 6238 §4.2: the code for the time step `at` falls in (default: now). */
export function totp(base32Secret: string, at = Date.now(), period = 30, digits = 6): Promise<string> {
  return hotp(base32Decode(base32Secret), Math.floor(at / 1000 / period), digits);
}

/**
 * A code the verifier accepts now (its window takes the next step too) that
 * is not the current step's: a code is accepted once (RFC 6238 §5.2), so a
 * test that has just spent the current code uses this one next.
 */
export function nextTotp(base32Secret: string): Promise<string> {
  return totp(base32Secret, Date.now() + 30_000);
}
