// The second-factor and account pages as a browser without JavaScript uses
// them: plain form posts, same-origin only, each answer a page or a redirect.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { nextTotp, secretFromOtpauthUri, totp } from "../support/totp.ts";
import { form, get, PASSWORD, signUp } from "./helpers.ts";
import { enableTotp, passwordSignIn, updatedCookies } from "./two-factor-flow.ts";

function decodeEntities(html: string): string {
  return html.replaceAll("&amp;", "&").replaceAll("&#39;", "'").replaceAll("&quot;", '"');
}

describe("two-factor and account pages", () => {
  it("sends a password sign-in of a 2FA person to /two-factor, and the code to /app", async () => {
    const person = await signUp();
    const { secret } = await enableTotp(person.cookie);
    const signedIn = await form("/sign-in", { email: person.email, password: PASSWORD });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get("Location")).toBe("/two-factor");
    const challenge = updatedCookies("", signedIn);

    const page = await get("/two-factor", { Cookie: challenge });
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(html).toContain("Authentication code");
    expect(html).not.toMatch(/<script/);

    const wrong = await form(
      "/two-factor",
      { code: "000000" },
      { Origin: new URL(env.ISSUER).origin, Cookie: challenge },
    );
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("That code is not right.");
    const right = await form(
      "/two-factor",
      { code: await nextTotp(secret) },
      { Origin: new URL(env.ISSUER).origin, Cookie: challenge },
    );
    expect(right.status).toBe(303);
    expect(right.headers.get("Location")).toBe("/app");
    const account = await get("/account", { Cookie: updatedCookies(challenge, right) });
    expect(account.status).toBe(200);
  });

  it("refuses a cross-origin post to /two-factor and the account forms: 403 cross_origin_post", async () => {
    const person = await signUp();
    for (const path of [
      "/two-factor",
      "/account/two-factor/enable",
      "/account/api-keys/create",
      "/account/sessions/revoke",
    ]) {
      const refused = await form(path, { code: "123456" }, { Origin: "https://evil.example", Cookie: person.cookie });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: string }).error).toBe("cross_origin_post");
    }
  });

  it("sends the account page to sign-in without a session", async () => {
    const response = await get("/account");
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/sign-in");
  });

  it("turns TOTP on and off from the account page", async () => {
    const person = await signUp();
    const origin = { Origin: new URL(env.ISSUER).origin, Cookie: person.cookie };
    const wrongPassword = await form("/account/two-factor/enable", { password: "not the password at all" }, origin);
    expect(wrongPassword.status).toBe(401);
    expect(decodeEntities(await wrongPassword.text())).toContain("That password is not right.");

    const setup = await form("/account/two-factor/enable", { password: PASSWORD }, origin);
    expect(setup.status).toBe(200);
    const html = decodeEntities(await setup.text());
    const uri = /data-testid="totp-uri">([^<]+)</.exec(html)?.[1] ?? "";
    expect(uri).toMatch(/^otpauth:\/\/totp\//);
    expect(html.match(/<li><code>[^<]+<\/code><\/li>/g)).toHaveLength(10);
    expect(html).toMatch(/data-testid="totp-qr"><svg [^>]*role="img" aria-label="QR code of your authenticator key"/);

    const confirmed = await form(
      "/account/two-factor/confirm",
      { code: await totp(secretFromOtpauthUri(uri)), totpUri: uri },
      origin,
    );
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get("Location")).toBe("/account?done=two-factor-on");
    const cookie = updatedCookies(person.cookie, confirmed);
    const on = await (await get("/account?done=two-factor-on", { Cookie: cookie })).text();
    expect(on).toContain("Two-factor authentication is on.");
    expect(on).toContain("On: sign-in asks for a code");

    const off = await form("/account/two-factor/disable", { password: PASSWORD }, { ...origin, Cookie: cookie });
    expect(off.status).toBe(303);
    const signIn = await passwordSignIn(person.email);
    expect(signIn.body).not.toHaveProperty("twoFactorRedirect");
  });

  it("puts only an otpauth URI back into the setup page's link", async () => {
    const person = await signUp();
    const origin = { Origin: new URL(env.ISSUER).origin, Cookie: person.cookie };
    await form("/account/two-factor/enable", { password: PASSWORD }, origin);
    const hostile = await form(
      "/account/two-factor/confirm",
      { code: "000000", totpUri: "javascript:alert(1)" },
      origin,
    );
    expect(hostile.status).toBe(400);
    expect(await hostile.text()).not.toContain("javascript:");
  });

  it("lists the person's sessions and ends another one", async () => {
    const person = await signUp();
    const other = await passwordSignIn(person.email);
    const page = await (await get("/account", { Cookie: person.cookie })).text();
    expect(page.match(/data-testid="session-row"/g)).toHaveLength(2);
    const row = await env.DB.prepare("SELECT id FROM session WHERE user_id = ? AND id != ?")
      .bind(person.userId, person.sessionId)
      .first<{ id: string }>();
    const ended = await form(
      "/account/sessions/revoke",
      { id: row?.id ?? "" },
      { Origin: new URL(env.ISSUER).origin, Cookie: person.cookie },
    );
    expect(ended.status).toBe(200);
    expect(await ended.text()).toContain("Session ended.");
    expect(await (await get("/api/auth/get-session", { Cookie: other.cookie })).json()).toBeNull();
    // Another person's session id is not one of this person's: 404.
    const stranger = await signUp();
    const refused = await form(
      "/account/sessions/revoke",
      { id: stranger.sessionId },
      { Origin: new URL(env.ISSUER).origin, Cookie: person.cookie },
    );
    expect(refused.status).toBe(404);
  });

  it("lists and ends sessions from a sign-in older than SESSION_FRESH_AGE_SECONDS: 200, never a 500", async () => {
    // Better Auth's /list-sessions asks for a fresh session (it hands out
    // tokens); the page, which needs none, failed for anyone signed in longer.
    const person = await signUp();
    const other = await passwordSignIn(person.email);
    const signedInAt = Date.now() - (Number(env.SESSION_FRESH_AGE_SECONDS) + 60) * 1000;
    await env.DB.prepare("UPDATE session SET created_at = ? WHERE id = ?").bind(signedInAt, person.sessionId).run();
    const page = await get("/account", { Cookie: person.cookie });
    expect(page.status).toBe(200);
    expect((await page.text()).match(/data-testid="session-row"/g)).toHaveLength(2);
    const row = await env.DB.prepare("SELECT id FROM session WHERE user_id = ? AND id != ?")
      .bind(person.userId, person.sessionId)
      .first<{ id: string }>();
    const ended = await form(
      "/account/sessions/revoke",
      { id: row?.id ?? "" },
      { Origin: new URL(env.ISSUER).origin, Cookie: person.cookie },
    );
    expect(ended.status).toBe(200);
    expect(await ended.text()).toContain("Session ended.");
    expect(await (await get("/api/auth/get-session", { Cookie: other.cookie })).json()).toBeNull();
  });
});
