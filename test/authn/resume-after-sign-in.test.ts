// A signed-out navigation that resumes after sign-in (workers/authn/src/resume/after-sign-in.ts):
// an operator's vault connect link and an OIDC authorization request, kept in a
// signed, short-lived cookie of their own kind. It survives the second factor
// (the TOTP page, or a session that must step up), is taken once, only to our
// own path of its kind, and does not wait for whoever signs in after a sign-out
// or after another flow was kept.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cookieName, OWN_COOKIE, SESSION_COOKIE } from "../../shared/contracts/cookies.ts";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { VAULT_CONNECT_LINK } from "../../shared/contracts/vault.ts";
import { totp } from "../support/totp.ts";
import { api, form, get, ORIGIN, PASSWORD, signUp } from "./helpers.ts";
import { oidc, pkce } from "./oidc-helpers.ts";
import { enableTotp, updatedCookies } from "./two-factor-flow.ts";

const VAULT_COOKIE = cookieName(env.ISSUER, OWN_COOKIE.vaultConfirmResume);
const OIDC_COOKIE = cookieName(env.ISSUER, OWN_COOKIE.oidcResume);

/** A browser's cookie jar, updated by every answer it gets. */
class Browser {
  jar = "";
  async get(path: string): Promise<Response> {
    return this.took(await get(path, this.jar ? { Cookie: this.jar } : {}));
  }
  async post(path: string, fields: Record<string, string>): Promise<Response> {
    return this.took(await form(path, fields, { Origin: ORIGIN, Cookie: this.jar }));
  }
  took(response: Response): Response {
    this.jar = updatedCookies(this.jar, response);
    return response;
  }
  has(name: string): boolean {
    return this.jar.split("; ").some((pair) => pair.startsWith(`${name}=`));
  }
}

/** A connect link's confirmation path and query, for any link value (the page itself is not what is tested). */
function confirmPath(orgId: string, link = "L".repeat(43)): string {
  return `${VAULT_CONNECT_LINK.path(orgId)}?${new URLSearchParams({ [VAULT_CONNECT_LINK.param]: link })}`;
}

function setCookieFor(response: Response, name: string): string | undefined {
  return response.headers.getSetCookie().find((line) => line.startsWith(`${name}=`));
}

/** A signed-out browser sent to sign in from the confirmation page, with the link kept. */
async function keptLink(orgId: string): Promise<{ browser: Browser; target: string }> {
  const browser = new Browser();
  const target = confirmPath(orgId);
  const opened = await browser.get(target);
  expect(opened.status).toBe(303);
  expect(opened.headers.get("Location")).toBe(ENDPOINT.signIn);
  const kept = setCookieFor(opened, VAULT_COOKIE);
  expect(kept).toMatch(/HttpOnly/);
  expect(kept).toMatch(/SameSite=Lax/);
  expect(kept).toMatch(/Max-Age=600/);
  expect(kept).toMatch(/Path=\//);
  return { browser, target };
}

describe("a vault connect link opened signed out", () => {
  it("comes back after a password sign-in that goes through the TOTP page, once", async () => {
    const owner = await signUp("Two Factor Owner");
    const { secret } = await enableTotp(owner.cookie);
    const { browser, target } = await keptLink(owner.orgId);

    const signedIn = await browser.post(ENDPOINT.signIn, { email: owner.email, password: PASSWORD });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get("Location")).toBe(ENDPOINT.twoFactor);
    // Not signed in yet: /app does not take the link, and keeps it.
    const early = await browser.get(ENDPOINT.app);
    expect(early.status).toBe(303);
    expect(early.headers.get("Location")).toBe(ENDPOINT.signIn);
    expect(browser.has(VAULT_COOKIE)).toBe(true);

    // enableTotp spent the current step's code (RFC 6238 §5.2): the next step's is accepted too.
    const stepped = await browser.post(ENDPOINT.twoFactor, { code: await totp(secret, Date.now() + 30_000) });
    expect(stepped.status).toBe(303);
    expect(stepped.headers.get("Location")).toBe(ENDPOINT.app);
    const landed = await browser.get(ENDPOINT.app);
    expect(landed.status).toBe(303);
    expect(landed.headers.get("Location")).toBe(target);
    expect(setCookieFor(landed, VAULT_COOKIE)).toMatch(/Max-Age=0/);
    expect((await browser.get(ENDPOINT.app)).status).toBe(200);
  });

  it("opened by a session short of its second factor, comes back after the step-up page", async () => {
    const owner = await signUp("Stepping Up");
    const { backupCodes, cookie } = await enableTotp(owner.cookie);
    // As a social or SSO sign-in leaves it: 2FA on, this session never stepped up (no mark).
    await env.DB.prepare("DELETE FROM verification WHERE identifier LIKE 'second-factor:%' AND value = ?")
      .bind(owner.userId)
      .run();
    const browser = new Browser();
    browser.jar = cookie;
    const target = confirmPath(owner.orgId);
    const opened = await browser.get(target);
    expect(opened.status).toBe(403);
    expect(await opened.text()).toContain('data-testid="console-second-factor"');
    expect(setCookieFor(opened, VAULT_COOKIE)).toMatch(/HttpOnly/);

    // /app sends the session to step up and keeps the link for after it.
    const early = await browser.get(ENDPOINT.app);
    expect(early.status).toBe(303);
    expect(early.headers.get("Location")).toBe(ENDPOINT.twoFactor);
    expect(setCookieFor(early, VAULT_COOKIE)).toBeUndefined();

    const stepped = await browser.post(ENDPOINT.twoFactor, { backupCode: backupCodes[0] ?? "" });
    expect(stepped.status).toBe(303);
    expect(stepped.headers.get("Location")).toBe(ENDPOINT.app);
    const landed = await browser.get(ENDPOINT.app);
    expect(landed.status).toBe(303);
    expect(landed.headers.get("Location")).toBe(target);
  });

  it("is dropped by a sign-out, so whoever signs in next in that browser lands on /app", async () => {
    const first = await signUp("First Person");
    const next = await signUp("Next Person");
    const { browser } = await keptLink(first.orgId);
    // Signed in meanwhile without taking it (a session that never reached /app), then signed out.
    browser.jar = `${browser.jar}; ${first.cookie}`;
    const out = await browser.post(ENDPOINT.signOut, {});
    expect(out.status).toBe(303);
    expect(out.headers.get("Location")).toBe(ENDPOINT.signIn);
    expect(setCookieFor(out, VAULT_COOKIE)).toMatch(/Max-Age=0/);
    expect(browser.has(VAULT_COOKIE)).toBe(false);

    const signedIn = await browser.post(ENDPOINT.signIn, { email: next.email, password: PASSWORD });
    expect(signedIn.headers.get("Location")).toBe(ENDPOINT.app);
    expect((await browser.get(ENDPOINT.app)).status).toBe(200);
  });

  it("is dropped by Better Auth's own sign-out too", async () => {
    const person = await signUp("API Sign Out");
    const { browser } = await keptLink(person.orgId);
    const out = await api("/sign-out", {}, { Cookie: `${browser.jar}; ${person.cookie}` });
    expect(out.status).toBe(200);
    expect(setCookieFor(out, VAULT_COOKIE)).toMatch(/Max-Age=0/);
  });

  it("is dropped when an RP-initiated logout ends the session here, only once it does (after the confirmation)", async () => {
    const person = await signUp("RP Logout");
    const { browser } = await keptLink(person.orgId);
    browser.jar = `${browser.jar}; ${person.cookie}`;
    const navigate = { Accept: "text/html", "Sec-Fetch-Mode": "navigate" };
    // No id_token_hint: the provider asks the person to confirm, and has ended nothing yet.
    const asked = browser.took(await get(OIDC_ENDPOINT.endSession, { ...navigate, Cookie: browser.jar }));
    expect(asked.status).toBe(200);
    expect(setCookieFor(asked, VAULT_COOKIE)).toBeUndefined();
    expect(browser.has(VAULT_COOKIE)).toBe(true);

    const confirmed = browser.took(
      await form(
        OIDC_ENDPOINT.endSessionConfirm,
        { action: "confirm" },
        { ...navigate, Origin: ORIGIN, Cookie: browser.jar },
      ),
    );
    expect(confirmed.status).toBe(200);
    expect(setCookieFor(confirmed, cookieName(env.ISSUER, SESSION_COOKIE))).toMatch(/Max-Age=0/);
    expect(setCookieFor(confirmed, VAULT_COOKIE)).toMatch(/Max-Age=0/);
    expect(browser.has(VAULT_COOKIE)).toBe(false);
  });

  it("is not dropped by delete-user, which is off here (Better Auth's bare 404) and so ends no session", async () => {
    const person = await signUp("Delete User");
    const { browser } = await keptLink(person.orgId);
    const refused = await api("/delete-user", { password: PASSWORD }, { Cookie: `${browser.jar}; ${person.cookie}` });
    expect(refused.status).toBe(404);
    expect(setCookieFor(refused, VAULT_COOKIE)).toBeUndefined();
    const callback = await get(`${ENDPOINT.authApi}/delete-user/callback?token=x`, {
      Cookie: `${browser.jar}; ${person.cookie}`,
    });
    expect(callback.status).toBe(404);
    expect(setCookieFor(callback, VAULT_COOKIE)).toBeUndefined();
  });

  it("is replaced by an authorization request kept later: only the latest flow resumes", async () => {
    const owner = await signUp("Two Flows");
    const { browser } = await keptLink(owner.orgId);
    const client = await oidc.browserClient();
    const request = oidc.codeRequest(client.clientId, (await pkce()).challenge);
    const authorizing = await browser.get(`${OIDC_ENDPOINT.authorize}?${new URLSearchParams(request)}`);
    expect(authorizing.status).toBe(302);
    expect(setCookieFor(authorizing, VAULT_COOKIE)).toMatch(/Max-Age=0/);
    expect(setCookieFor(authorizing, OIDC_COOKIE)).toMatch(/HttpOnly/);
    expect(browser.has(VAULT_COOKIE)).toBe(false);

    await browser.post(ENDPOINT.signIn, { email: owner.email, password: PASSWORD });
    const landed = await browser.get(ENDPOINT.app);
    expect(landed.status).toBe(303);
    expect(new URL(landed.headers.get("Location") ?? "", ORIGIN).pathname).toBe(OIDC_ENDPOINT.authorize);
  });
});

describe("an OIDC authorization request by a session short of its second factor", () => {
  it("is kept and the browser sent to step up (not a bare 403), then resumed from /app; prompt=none is login_required at the client and keeps nothing", async () => {
    const person = await signUp("Authorize Step Up");
    const { backupCodes, cookie } = await enableTotp(person.cookie);
    // As a social or SSO sign-in leaves it: 2FA on, this session never stepped up (no mark).
    await env.DB.prepare("DELETE FROM verification WHERE identifier LIKE 'second-factor:%' AND value = ?")
      .bind(person.userId)
      .run();
    const client = await oidc.browserClient();
    const request = oidc.codeRequest(client.clientId, (await pkce()).challenge);
    const target = `${OIDC_ENDPOINT.authorize}?${new URLSearchParams(request)}`;

    // OIDC Core §3.1.2.1 prompt=none: no page, and the error goes back to the client (§3.1.2.6), not a
    // JSON 403 a silent-authentication frame never hears of. Its second factor is part of the sign-in.
    const silentRequest = { ...request, prompt: "none" };
    for (const as of ["get", "json", "post"] as const) {
      const asJson = as === "json";
      const silent =
        as === "post"
          ? await form(OIDC_ENDPOINT.authorize, silentRequest, { Origin: ORIGIN, Cookie: cookie })
          : await get(`${OIDC_ENDPOINT.authorize}?${new URLSearchParams(silentRequest)}`, {
              Cookie: cookie,
              ...(asJson ? { Accept: "application/json", "Sec-Fetch-Mode": "cors" } : {}),
            });
      const location = asJson ? ((await silent.json()) as { url: string }).url : (silent.headers.get("Location") ?? "");
      expect(silent.status).toBe(asJson ? 200 : 302);
      const back = new URL(location);
      expect(`${back.origin}${back.pathname}`).toBe(request.redirect_uri);
      expect(Object.fromEntries(back.searchParams)).toEqual({
        error: "login_required",
        error_description: "the session has not passed its second factor",
        state: request.state,
        iss: env.ISSUER,
      });
      expect(setCookieFor(silent, OIDC_COOKIE)).toBeUndefined();
    }

    const browser = new Browser();
    browser.jar = cookie;
    const opened = await browser.get(target);
    expect(opened.status).toBe(303);
    expect(opened.headers.get("Location")).toBe(ENDPOINT.twoFactor);
    expect(setCookieFor(opened, OIDC_COOKIE)).toMatch(/HttpOnly/);

    // Not yet past the second factor: /app keeps it and sends the session to step up.
    const early = await browser.get(ENDPOINT.app);
    expect(early.status).toBe(303);
    expect(early.headers.get("Location")).toBe(ENDPOINT.twoFactor);
    expect(browser.has(OIDC_COOKIE)).toBe(true);

    const stepped = await browser.post(ENDPOINT.twoFactor, { backupCode: backupCodes[0] ?? "" });
    expect(stepped.status).toBe(303);
    expect(stepped.headers.get("Location")).toBe(ENDPOINT.app);
    const landed = await browser.get(ENDPOINT.app);
    expect(landed.status).toBe(303);
    expect(landed.headers.get("Location")).toBe(target);
    expect(setCookieFor(landed, OIDC_COOKIE)).toMatch(/Max-Age=0/);
    // The authorize endpoint now takes the stepped-up session: on to consent.
    const resumed = await browser.get(target);
    expect(resumed.status).toBe(302);
    expect(new URL(resumed.headers.get("Location") ?? "", ORIGIN).pathname).toBe(ENDPOINT.consent);
  });
});

describe("an OIDC authorization request near the cookie's size", () => {
  it("is kept only when its Set-Cookie, as percent-encoded on the wire, fits a browser's 4096 bytes", async () => {
    const client = await oidc.browserClient();
    const request = new URLSearchParams(oidc.codeRequest(client.clientId, (await pkce()).challenge)).toString();
    // Each `%26` in the query is five bytes in the cookie (`%` is encoded again): `units` of them.
    const target = (units: number) => `${OIDC_ENDPOINT.authorize}?${request}&pad=${"%26".repeat(units)}`;
    const opened = async (units: number) => {
      const answer = await get(target(units));
      expect(answer.status).toBe(302);
      expect(new URL(answer.headers.get("Location") ?? "", ORIGIN).pathname).toBe(ENDPOINT.signIn);
      return setCookieFor(answer, OIDC_COOKIE);
    };

    // Under the old 3000-character cap on the query, over 4096 bytes once encoded: not kept.
    const overCap = 850;
    expect(new URL(target(overCap), ORIGIN).search.length).toBeLessThan(3000);
    expect(await opened(overCap)).toBeUndefined();

    // The largest that is kept: its Set-Cookie stays under 4096 bytes, and one more unit is not kept.
    let kept = 0;
    let dropped = overCap;
    while (dropped - kept > 1) {
      const middle = Math.floor((kept + dropped) / 2);
      if (await opened(middle)) kept = middle;
      else dropped = middle;
    }
    expect(kept).toBeGreaterThan(0);
    const largest = (await opened(kept)) ?? "";
    expect(new TextEncoder().encode(largest).length).toBeLessThanOrEqual(4000);
    expect(new TextEncoder().encode(largest).length).toBeGreaterThan(3990);
    expect(await opened(kept + 1)).toBeUndefined();

    // And it resumes, whole, after a sign-in.
    const person = await signUp("Long Request");
    const landed = await get(ENDPOINT.app, { Cookie: `${person.cookie}; ${largest.split(";")[0]}` });
    expect(landed.status).toBe(303);
    expect(landed.headers.get("Location")).toBe(target(kept));
  });
});

describe("an OIDC authorization request that asks for a sign-in (prompt=login, max_age)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resumes after a fresh sign-in without what it asked for, so it goes on to consent instead of back to /sign-in for ever", async () => {
    const person = await signUp("Prompt Login");
    const client = await oidc.browserClient();
    const { challenge } = await pkce();
    const request = {
      ...oidc.codeRequest(client.clientId, challenge),
      prompt: "login consent",
      max_age: "0",
    };
    const browser = new Browser();
    // Signed in already: the request still sends the browser to sign in (OIDC Core §3.1.2.1).
    browser.jar = person.cookie;
    // A paused clock, so the sign-in below comes seconds after the request was kept.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 1000);
    const asked = await browser.get(`${OIDC_ENDPOINT.authorize}?${new URLSearchParams(request)}`);
    expect(asked.status).toBe(302);
    expect(new URL(asked.headers.get("Location") ?? "", ORIGIN).pathname).toBe(ENDPOINT.signIn);
    expect(browser.has(OIDC_COOKIE)).toBe(true);

    // The session from before the request has not signed in again: the target is resumed as it was.
    const stale = await get(ENDPOINT.app, { Cookie: browser.jar });
    expect(stale.status).toBe(303);
    const staleTarget = new URL(stale.headers.get("Location") ?? "", ORIGIN);
    expect(staleTarget.searchParams.get("prompt")).toBe("login consent");
    expect(staleTarget.searchParams.get("max_age")).toBe("0");

    vi.setSystemTime(Date.now() + 2000);
    const signedIn = await browser.post(ENDPOINT.signIn, { email: person.email, password: PASSWORD });
    expect(signedIn.headers.get("Location")).toBe(ENDPOINT.app);
    const landed = await browser.get(ENDPOINT.app);
    vi.useRealTimers();
    expect(landed.status).toBe(303);
    const resumed = new URL(landed.headers.get("Location") ?? "", ORIGIN);
    expect(resumed.pathname).toBe(OIDC_ENDPOINT.authorize);
    expect(resumed.searchParams.get("prompt")).toBe("consent");
    expect(resumed.searchParams.has("max_age")).toBe(false);
    expect(resumed.searchParams.get("client_id")).toBe(client.clientId);
    expect(resumed.searchParams.get("code_challenge")).toBe(challenge);
    const authorized = await browser.get(`${resumed.pathname}${resumed.search}`);
    expect(authorized.status).toBe(302);
    expect(new URL(authorized.headers.get("Location") ?? "", ORIGIN).pathname).toBe(ENDPOINT.consent);
    expect(browser.has(OIDC_COOKIE)).toBe(false);
  });
});

describe("a kept target that is not ours", () => {
  it("is never followed: another kind's value, an edited target, an unsigned or old-format value; each is dropped", async () => {
    const owner = await signUp("Tamperer");
    const { browser } = await keptLink(owner.orgId);
    const value = browser.jar
      .split("; ")
      .find((p) => p.startsWith(`${VAULT_COOKIE}=`))
      ?.slice(VAULT_COOKIE.length + 1);
    const decoded = decodeURIComponent(value ?? "");
    const [exp, mac] = decoded.split(".");
    expect(decoded).toMatch(/^\d+\.[A-Za-z0-9_-]{43}\.\/console\/orgs\//);

    const forged = [
      // The vault value in the OIDC cookie: its MAC is for the other kind.
      `${OIDC_COOKIE}=${value}`,
      // Another target under the same MAC.
      `${VAULT_COOKIE}=${encodeURIComponent(`${exp}.${mac}.${confirmPath("another-org")}`)}`,
      // Somewhere else altogether, and a path that is not ours to resume to.
      `${VAULT_COOKIE}=${encodeURIComponent(`${exp}.${mac}.//evil.example/console/orgs/x/vault/confirm?link=x`)}`,
      `${OIDC_COOKIE}=${encodeURIComponent(`${exp}.${mac}./account?client_id=x`)}`,
      // The format before the MAC.
      `${VAULT_COOKIE}=${encodeURIComponent(new URLSearchParams({ org: owner.orgId, link: "L" }).toString())}`,
      `${OIDC_COOKIE}=${encodeURIComponent("client_id=x&redirect_uri=https://evil.example/")}`,
    ];
    for (const cookie of forged) {
      const landed = await get(ENDPOINT.app, { Cookie: `${owner.cookie}; ${cookie}` });
      expect(landed.status, cookie).toBe(200);
      const name = cookie.slice(0, cookie.indexOf("="));
      expect(setCookieFor(landed, name), cookie).toMatch(/Max-Age=0/);
    }
  });
});
