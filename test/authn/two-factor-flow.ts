// What the 2FA tests share: turning TOTP on for a person through Better
// Auth's API, and the password sign-in that then stops at the challenge.
import { expect } from "vitest";
import { secretFromOtpauthUri, totp } from "../support/totp.ts";
import { api, cookiesFrom, PASSWORD } from "./helpers.ts";

/** Cookies as a browser would hold them after a response: the old jar updated by Set-Cookie. */
export function updatedCookies(jar: string, response: Response): string {
  const cookies = new Map(
    jar
      .split("; ")
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf("=")), pair] as const),
  );
  for (const line of response.headers.getSetCookie()) {
    const pair = line.split(";")[0] ?? "";
    const name = pair.slice(0, pair.indexOf("="));
    const expired = /max-age=0/i.test(line) || pair.endsWith("=");
    if (expired) cookies.delete(name);
    else cookies.set(name, pair);
  }
  return [...cookies.values()].join("; ");
}

/**
 * Turns TOTP on for the cookie's person (enable, then the first verified
 * code) and returns the secret, the backup codes and the cookie of the new
 * session Better Auth starts on success.
 */
export async function enableTotp(cookie: string) {
  const enabled = await api("/two-factor/enable", { password: PASSWORD }, { Cookie: cookie });
  expect(enabled.status).toBe(200);
  const { totpURI, backupCodes } = (await enabled.json()) as { totpURI: string; backupCodes: string[] };
  const secret = secretFromOtpauthUri(totpURI);
  const verified = await api("/two-factor/verify-totp", { code: await totp(secret) }, { Cookie: cookie });
  expect(verified.status).toBe(200);
  return { secret, backupCodes, totpURI, cookie: updatedCookies(cookie, verified) };
}

/** A password sign-in through the API; with 2FA on it answers `twoFactorRedirect` and a challenge cookie. */
export async function passwordSignIn(email: string, headers: Record<string, string> = {}) {
  const response = await api("/sign-in/email", { email, password: PASSWORD }, headers);
  return { response, body: (await response.json()) as Record<string, unknown>, cookie: cookiesFrom(response) };
}
