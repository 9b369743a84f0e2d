/**
 * The owner's way past the sign-in delay (limits/sign-in-throttle.ts): when
 * their account starts being slowed, the address gets one link; opening it
 * (and confirming, a same-origin POST, so a mail scanner's GET changes
 * nothing) clears the account's failure count. The link is a MAC over the
 * account's keyed hash and an expiry, under a key of its own derived from
 * BETTER_AUTH_SECRET: nothing is stored, and it proves only that its holder
 * reads that mailbox, which is what the owner can and a guesser cannot.
 */
import { cookieName, OWN_COOKIE } from "../../../../shared/contracts/cookies.ts";
import { signExpiring, verifyExpiring } from "../security/expiring-mac.ts";

const DERIVATION_LABEL = "mono-auth sign-in unlock v1";
export const UNLOCK_LINK_TTL_SECONDS = 30 * 60;

export async function createUnlockToken(secret: string, accountHash: string, now = Date.now()): Promise<string> {
  const { exp, mac } = await signExpiring(secret, DERIVATION_LABEL, accountHash, UNLOCK_LINK_TTL_SECONDS, now);
  return `${exp}.${accountHash}.${mac}`;
}

/** The account hash the token unlocks, or undefined for a forged, altered or expired one. */
export async function verifyUnlockToken(secret: string, token: string, now = Date.now()): Promise<string | undefined> {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [exp, accountHash, mac] = parts as [string, string, string];
  return (await verifyExpiring(secret, DERIVATION_LABEL, accountHash, exp, mac, now)) ? accountHash : undefined;
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
  return cookieName(config.issuer, OWN_COOKIE.signInUnlock);
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
