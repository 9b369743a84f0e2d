// TOTP second factor (Better Auth's twoFactor plugin as
// workers/authn/src/auth/plugins/two-factor.ts runs it): the challenge
// cannot be skipped by any cookie a sign-in hands out before it, the session
// exchange refuses a session that has not passed it, backup codes are single
// use, and trusted devices skip it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SECOND_FACTOR_REQUIRED } from "../../shared/contracts/second-factor.ts";
import { needsSecondFactor } from "../../workers/authn/src/auth/plugins/two-factor.ts";
import { nextTotp } from "../support/totp.ts";
import { api, cookiesFrom, exchange, form, get, ORIGIN, PASSWORD, signUp } from "./helpers.ts";
import { enableTotp, passwordSignIn, updatedCookies } from "./two-factor-flow.ts";

const SECOND_FACTOR_MISSING = {
  error: "invalid_grant",
  error_description: "the session has not passed its second factor",
};

async function sessionOf(cookie: string): Promise<unknown> {
  return (await get("/api/auth/get-session", { Cookie: cookie })).json();
}

describe("TOTP second factor", () => {
  it("enables TOTP with a first code, and the session it starts may exchange", async () => {
    const person = await signUp();
    const { cookie, backupCodes, totpURI } = await enableTotp(person.cookie);
    expect(totpURI).toMatch(/^otpauth:\/\/totp\//);
    expect(new URL(totpURI).searchParams.get("issuer")).toBe(new URL(env.ISSUER).host);
    expect(backupCodes).toHaveLength(10);
    const user = await env.DB.prepare("SELECT two_factor_enabled AS on_ FROM user WHERE id = ?")
      .bind(person.userId)
      .first<{ on_: number }>();
    expect(user?.on_).toBe(1);
    // The secret and the backup codes are stored encrypted, never as issued.
    const row = await env.DB.prepare("SELECT secret, backup_codes FROM two_factor WHERE user_id = ?")
      .bind(person.userId)
      .first<{ secret: string; backup_codes: string }>();
    expect(row?.secret).not.toContain(new URL(totpURI).searchParams.get("secret") ?? "?");
    for (const backup of backupCodes) expect(row?.backup_codes).not.toContain(backup);

    expect((await exchange(cookie)).status).toBe(200);
    // The session 2FA was enabled from is ended: Better Auth replaced it.
    expect(await (await exchange(person.cookie)).json()).toEqual({
      error: "invalid_grant",
      error_description: "no live session",
    });
  });

  it("stops a password sign-in at the challenge; nothing it sets reaches the session, the exchange or /account (GHSA-xg6x-h9c9-2m83)", async () => {
    const person = await signUp();
    await enableTotp(person.cookie);
    const signIn = await passwordSignIn(person.email);
    expect(signIn.response.status).toBe(200);
    expect(signIn.body).toEqual({ twoFactorRedirect: true, twoFactorMethods: ["totp"] });
    // Every cookie the sign-in answer carries, replayed as a browser (or an
    // attacker holding the password) would send them, alone and together.
    const pairs = signIn.response.headers
      .getSetCookie()
      .map((line) => line.split(";")[0] ?? "")
      .filter((pair) => !pair.endsWith("="));
    expect(pairs.length).toBeGreaterThan(0);
    for (const cookie of [...pairs, pairs.join("; ")]) {
      expect(await sessionOf(cookie)).toBeNull();
      const exchanged = await exchange(cookie);
      expect(exchanged.status).toBe(400);
      expect(await exchanged.json()).toEqual({ error: "invalid_grant", error_description: "no live session" });
      const account = await get("/account", { Cookie: cookie });
      expect(account.status).toBe(303);
      expect(account.headers.get("Location")).toBe("/sign-in");
      const keys = await api("/api-key/create", { configId: "user", name: "sneaky" }, { Cookie: cookie });
      expect(keys.status).toBe(401);
    }
    // No session row was left standing for the person but the ones they had before.
    const sessions = await env.DB.prepare("SELECT COUNT(*) AS n FROM session WHERE user_id = ?")
      .bind(person.userId)
      .first<{ n: number }>();
    expect(sessions?.n).toBe(1);
  });

  it("signs in with the TOTP code through the challenge cookie, and that session may exchange", async () => {
    const person = await signUp();
    const { secret } = await enableTotp(person.cookie);
    const signIn = await passwordSignIn(person.email);
    const wrong = await api("/two-factor/verify-totp", { code: "000000" }, { Cookie: signIn.cookie });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { code: string }).code).toBe("INVALID_CODE");
    const code = await nextTotp(secret);
    const verified = await api("/two-factor/verify-totp", { code }, { Cookie: signIn.cookie });
    expect(verified.status).toBe(200);
    const body = (await verified.json()) as Record<string, unknown>;
    // The raw session token never reaches a page script (http/session-token-fields.ts).
    expect(body).not.toHaveProperty("token");
    const cookie = updatedCookies(signIn.cookie, verified);
    expect((await exchange(cookie)).status).toBe(200);
    // The challenge cookie is spent.
    const again = await api("/two-factor/verify-totp", { code }, { Cookie: signIn.cookie });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { code: string }).code).toBe("INVALID_TWO_FACTOR_COOKIE");
    // RFC 6238 §5.2: the accepted code does not work a second time, even with a new challenge.
    const replay = await passwordSignIn(person.email);
    const replayed = await api("/two-factor/verify-totp", { code }, { Cookie: replay.cookie });
    expect(replayed.status).toBe(401);
    expect(((await replayed.json()) as { code: string }).code).toBe("INVALID_CODE");
    expect(await sessionOf(updatedCookies(replay.cookie, replayed))).toBeNull();
  });

  it("accepts each backup code once", async () => {
    const person = await signUp();
    const { backupCodes } = await enableTotp(person.cookie);
    const backup = backupCodes[0] ?? "";
    const first = await passwordSignIn(person.email);
    const used = await api("/two-factor/verify-backup-code", { code: backup }, { Cookie: first.cookie });
    expect(used.status).toBe(200);
    expect(await used.json()).not.toHaveProperty("token");
    expect((await exchange(updatedCookies(first.cookie, used))).status).toBe(200);

    const second = await passwordSignIn(person.email);
    const reused = await api("/two-factor/verify-backup-code", { code: backup }, { Cookie: second.cookie });
    expect(reused.status).toBe(401);
    expect(((await reused.json()) as { code: string }).code).toBe("INVALID_BACKUP_CODE");
  });

  it("lets a trusted device skip the challenge, and its session may exchange", async () => {
    const person = await signUp();
    const { secret } = await enableTotp(person.cookie);
    const first = await passwordSignIn(person.email);
    const trusted = await api(
      "/two-factor/verify-totp",
      { code: await nextTotp(secret), trustDevice: true },
      { Cookie: first.cookie },
    );
    expect(trusted.status).toBe(200);
    const device = updatedCookies(first.cookie, trusted);
    expect(device).toMatch(/trust_device=/);

    const again = await passwordSignIn(person.email, { Cookie: device });
    expect(again.response.status).toBe(200);
    expect(again.body).not.toHaveProperty("twoFactorRedirect");
    expect((await exchange(updatedCookies(device, again.response))).status).toBe(200);
  });

  it("refuses a session that never passed the second factor: exchange 400, credential endpoints 403, until it steps up", async () => {
    const person = await signUp();
    // A second session of the same person, started before 2FA was on.
    const other = await passwordSignIn(person.email);
    expect(other.body).not.toHaveProperty("twoFactorRedirect");
    const { secret } = await enableTotp(person.cookie);

    const exchanged = await exchange(other.cookie);
    expect(exchanged.status).toBe(400);
    expect(await exchanged.json()).toEqual(SECOND_FACTOR_MISSING);
    for (const [path, body] of [
      ["/api-key/create", { configId: "user", name: "k" }],
      ["/two-factor/generate-backup-codes", { password: PASSWORD }],
      ["/two-factor/disable", { password: PASSWORD }],
      ["/organization/create", { name: "Sneaky", slug: `sneaky-${crypto.randomUUID().slice(0, 8)}` }],
      ["/delete-user", { password: PASSWORD }],
      ["/oauth2/consent", { accept: true }],
    ] as const) {
      const refused = await api(path, body, { Cookie: other.cookie });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { code: string }).code).toBe(SECOND_FACTOR_REQUIRED);
    }
    const account = await get("/account", { Cookie: other.cookie });
    expect(account.status).toBe(303);
    expect(account.headers.get("Location")).toBe("/two-factor");

    // The session proves the second factor itself and may then act.
    const stepUp = await api("/two-factor/verify-totp", { code: await nextTotp(secret) }, { Cookie: other.cookie });
    expect(stepUp.status).toBe(200);
    expect((await exchange(other.cookie)).status).toBe(200);
  });
});

describe("what waits for the second factor", () => {
  it("managing SSO does; an IdP's callback, a sign-in, does not", () => {
    expect(needsSecondFactor("/sso/register")).toBe(true);
    expect(needsSecondFactor("/sso/update-provider")).toBe(true);
    expect(needsSecondFactor("/sso/callback/:providerId")).toBe(false);
    expect(needsSecondFactor("/sso/callback/acme-okta")).toBe(false);
  });
});

describe("the pages a session waiting for its second factor reaches", () => {
  it("/app sends a session that has not passed 2FA to the challenge, as /account does", async () => {
    const person = await signUp();
    // A second session, started before 2FA was on: it never passed the second factor.
    const second = cookiesFrom(await api("/sign-in/email", { email: person.email, password: PASSWORD }));
    await enableTotp(person.cookie);
    for (const path of ["/account", "/app"]) {
      const response = await get(path, { Cookie: second });
      expect(response.status, path).toBe(303);
      expect(response.headers.get("Location"), path).toBe("/two-factor");
    }
  });

  it("a backup code from a person without 2FA is the request's fault: 400, not 500", async () => {
    const person = await signUp();
    const response = await form(
      "/two-factor",
      { backupCode: "abcde-fghij" },
      { Origin: ORIGIN, Cookie: person.cookie },
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("Two-factor authentication is not set up for this account.");
  });
});
