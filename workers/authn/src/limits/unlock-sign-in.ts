/**
 * The owner's way past the sign-in delay (limits/sign-in-throttle.ts): when
 * their account starts being slowed, the address gets one link; opening it
 * (and confirming, a same-origin POST, so a mail scanner's GET changes
 * nothing) clears the account's failure count. The link is a MAC over the
 * account's keyed hash and an expiry, under a key of its own derived from
 * BETTER_AUTH_SECRET: nothing is stored, and it proves only that its holder
 * reads that mailbox, which is what the owner can and a guesser cannot.
 */
const DERIVATION_LABEL = "mono-auth sign-in unlock v1";
export const UNLOCK_LINK_TTL_SECONDS = 30 * 60;

const keys = new Map<string, Promise<CryptoKey>>();

function unlockKey(secret: string): Promise<CryptoKey> {
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
      const derived = await crypto.subtle.sign("HMAC", root, encoder.encode(DERIVATION_LABEL));
      return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    })();
    keys.set(secret, key);
  }
  return key;
}

function base64url(bytes: ArrayBuffer): string {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    // Not base64 (e.g. a length no encoding produces).
    return undefined;
  }
}

export async function createUnlockToken(secret: string, accountHash: string, now = Date.now()): Promise<string> {
  const payload = `${Math.floor(now / 1000) + UNLOCK_LINK_TTL_SECONDS}.${accountHash}`;
  const mac = await crypto.subtle.sign("HMAC", await unlockKey(secret), new TextEncoder().encode(payload));
  return `${payload}.${base64url(mac)}`;
}

/** The account hash the token unlocks, or undefined for a forged, altered or expired one. */
export async function verifyUnlockToken(secret: string, token: string, now = Date.now()): Promise<string | undefined> {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [expText, accountHash, macText] = parts as [string, string, string];
  const mac = fromBase64url(macText);
  if (!/^\d{1,12}$/.test(expText) || !mac) return undefined;
  const valid = await crypto.subtle.verify(
    "HMAC",
    await unlockKey(secret),
    mac,
    new TextEncoder().encode(`${expText}.${accountHash}`),
  );
  if (!valid || Number(expText) * 1000 <= now) return undefined;
  return accountHash;
}

/**
 * Opening the link also leaves the owner's browser a cookie holding the same
 * token (HttpOnly, for the link's remaining life): with it, that account's
 * own limits — the per-account rate limit and the per-account delay — do not
 * apply to this browser, so a guesser who keeps the account at its limits
 * from many addresses still cannot keep its owner out. The per-address
 * limits still do.
 */
export function unlockCookieName(config: { issuer: string }): string {
  // `__Host-` as for the session cookie (auth/options.ts): only on https.
  return config.issuer.startsWith("https://") ? "__Host-mono.sign_in_unlock" : "mono.sign_in_unlock";
}

export function unlockCookie(config: { issuer: string }, token: string): string {
  const secure = config.issuer.startsWith("https://") ? "; Secure" : "";
  return `${unlockCookieName(config)}=${token}; Max-Age=${UNLOCK_LINK_TTL_SECONDS}; Path=/; HttpOnly${secure}; SameSite=Lax`;
}

/** Whether the request carries a live unlock cookie for exactly this account. */
export async function unlockedByCookie(
  headers: Headers,
  config: { issuer: string; betterAuthSecret: string },
  accountHash: string,
): Promise<boolean> {
  const prefix = `${unlockCookieName(config)}=`;
  for (const pair of (headers.get("Cookie") ?? "").split(/;\s*/)) {
    if (!pair.startsWith(prefix)) continue;
    if ((await verifyUnlockToken(config.betterAuthSecret, pair.slice(prefix.length))) === accountHash) return true;
  }
  return false;
}
