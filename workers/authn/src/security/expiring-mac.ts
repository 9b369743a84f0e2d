/**
 * A stateless proof that expires: an HMAC-SHA-256 over `<exp>.<subject>`
 * under a key of its own per purpose, derived from a Worker secret, so one
 * purpose's MAC never stands in for another's or for any other keyed hash of
 * that secret. Nothing is stored; the holder shows `<exp>` and the MAC, and
 * the verifier supplies the subject it expects (or reads it from the token).
 */
const keys = new Map<string, Promise<CryptoKey>>();
const encoder = new TextEncoder();

/** An HMAC-SHA-256 key for one purpose alone: HMAC(secret, purpose), cached per isolate. */
export function purposeKey(secret: string, purpose: string): Promise<CryptoKey> {
  const cacheKey = `${purpose}\0${secret}`;
  let key = keys.get(cacheKey);
  if (!key) {
    key = (async () => {
      const root = await crypto.subtle.importKey(
        "raw",
        encoder.encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      const derived = await crypto.subtle.sign("HMAC", root, encoder.encode(purpose));
      return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    })();
    keys.set(cacheKey, key);
  }
  return key;
}

export function base64url(bytes: ArrayBuffer): string {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    // Not base64 (e.g. a length no encoding produces).
    return undefined;
  }
}

/** `<exp>` (seconds) and the base64url MAC binding it to `subject` for this purpose. */
export async function signExpiring(
  secret: string,
  purpose: string,
  subject: string,
  ttlSeconds: number,
  now = Date.now(),
): Promise<{ exp: string; mac: string }> {
  const exp = String(Math.floor(now / 1000) + ttlSeconds);
  const mac = await crypto.subtle.sign("HMAC", await purposeKey(secret, purpose), encoder.encode(`${exp}.${subject}`));
  return { exp, mac: base64url(mac) };
}

/** Whether `mac` binds `exp` to `subject` for this purpose and `exp` is still ahead (a constant-time check). */
export async function verifyExpiring(
  secret: string,
  purpose: string,
  subject: string,
  exp: string,
  macText: string,
  now = Date.now(),
): Promise<boolean> {
  const mac = fromBase64url(macText);
  if (!/^\d{1,12}$/.test(exp) || !mac) return false;
  const valid = await crypto.subtle.verify(
    "HMAC",
    await purposeKey(secret, purpose),
    mac,
    encoder.encode(`${exp}.${subject}`),
  );
  return valid && Number(exp) * 1000 > now;
}
