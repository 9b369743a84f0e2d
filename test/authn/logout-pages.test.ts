// RP-initiated logout's pages in the pages' look (workers/authn/src/oidc/logout-pages.tsx):
// Better Auth's confirmation, signed-out and error pages re-rendered under
// our security headers, with its status and every cookie it set kept; its
// JSON answers to a non-navigation pass unchanged.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BETTER_AUTH_PLUGIN_COOKIE, cookieName, SESSION_COOKIE } from "../../shared/contracts/cookies.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import { call, envWith } from "./email-helpers.ts";
import { cookiesFrom, form, get, ORIGIN, PASSWORD, signUp, uniqueEmail } from "./helpers.ts";
import { oidc } from "./oidc-helpers.ts";

const NAVIGATE = { Accept: "text/html", "Sec-Fetch-Mode": "navigate" };

function expectOurPage(response: Response): void {
  expect(response.headers.get("Content-Type")).toMatch(/^text\/html/);
  expect(response.headers.get("Content-Security-Policy")).toMatch(/style-src 'nonce-[A-Za-z0-9+/=]+'/);
  expect(response.headers.get("X-Frame-Options")).toBe("DENY");
  expect(response.headers.get("Cache-Control")).toBe("no-store");
}

/** Better Auth's Set-Cookie lines, each once: a cookie set twice (the page's headers copied from its answer, then its cookies appended again) is a browser's guess. */
function expectEachCookieOnce(response: Response): void {
  const names = response.headers.getSetCookie().map((line) => line.slice(0, line.indexOf("=")));
  expect(names.length).toBeGreaterThan(0);
  expect(names).toEqual([...new Set(names)]);
}

describe("RP-initiated logout pages", () => {
  it("asks a signed-in person to confirm in our look, then shows them signed out; Better Auth's cookies kept", async () => {
    const person = await signUp("Logout Pages");
    const asked = await get(OIDC_ENDPOINT.endSession, { ...NAVIGATE, Cookie: person.cookie });
    expect(asked.status).toBe(200);
    expectOurPage(asked);
    const page = await asked.text();
    expect(page).toContain("<h1>Sign out?</h1>");
    expect(page).toContain(`action="${ORIGIN}${OIDC_ENDPOINT.endSessionConfirm}"`);
    expect(page).not.toContain("data-oidc-logout");
    // Better Auth's signed confirmation state, which its confirmation reads (beside its session cookie's refresh).
    const state = asked.headers
      .getSetCookie()
      .find((line) => line.startsWith(`${cookieName(env.ISSUER, BETTER_AUTH_PLUGIN_COOKIE.logoutConfirmation)}=`));
    expect(state).toMatch(/HttpOnly/);
    expectEachCookieOnce(asked);

    const confirmed = await form(
      OIDC_ENDPOINT.endSessionConfirm,
      { action: "confirm" },
      { ...NAVIGATE, Origin: ORIGIN, Cookie: `${person.cookie}; ${cookiesFrom(asked)}` },
    );
    expect(confirmed.status).toBe(200);
    expectOurPage(confirmed);
    const done = await confirmed.text();
    expect(done).toContain("<h1>Signed out</h1>");
    expect(done).toContain('data-testid="signed-out"');
    const sessionCookie = confirmed.headers
      .getSetCookie()
      .find((line) => line.startsWith(`${cookieName(env.ISSUER, SESSION_COOKIE)}=`));
    expect(sessionCookie).toMatch(/Max-Age=0/);
    expectEachCookieOnce(confirmed);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM session WHERE id = ?")
      .bind(person.sessionId)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("the confirmation's form-action allows the registered post-logout redirect's origin, and no unregistered one", async () => {
    const back = "https://rp.example.test/signed-out";
    const { clientId } = await oidc.browserClient({ postLogoutRedirectUris: [back] });
    const person = await signUp("Logout Return");
    const ask = (uri: string) =>
      get(
        `${OIDC_ENDPOINT.endSession}?${new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: uri })}`,
        { ...NAVIGATE, Cookie: person.cookie },
      );
    // The confirmation's POST is redirected there, and CSP form-action governs that redirect (CSP 3 §6.4.1).
    const registered = await ask(back);
    expect(registered.status).toBe(200);
    expect(await registered.text()).toContain("<h1>Sign out?</h1>");
    expect(registered.headers.get("Content-Security-Policy")).toContain("form-action 'self' https://rp.example.test;");
    const other = await ask("https://evil.example/landing");
    expect(other.status).toBe(200);
    expect(await other.text()).toContain("<h1>Sign out?</h1>");
    expect(other.headers.get("Content-Security-Policy")).toContain("form-action 'self';");
    expect(other.headers.get("Content-Security-Policy")).not.toContain("evil.example");
  });

  it("shows Better Auth's refusal as our error page, with its status", async () => {
    const refused = await get(`${OIDC_ENDPOINT.endSession}?client_id=oidc_unknown`, NAVIGATE);
    expect(refused.status).toBe(400);
    expectOurPage(refused);
    const page = await refused.text();
    expect(page).toContain("<h1>Sign-out could not continue</h1>");
    expect(page).toContain("The logout client does not exist");
  });

  it("leaves a non-navigation's JSON answer as Better Auth gave it", async () => {
    const refused = await get(`${OIDC_ENDPOINT.endSession}?client_id=oidc_unknown`, { Accept: "application/json" });
    expect(refused.status).toBe(400);
    expect(refused.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(await refused.json()).toMatchObject({ error: "invalid_client" });
  });
});

describe("RP-initiated logout on an https issuer (`__Host-` cookies)", () => {
  const issuer = "https://id.example.com";
  const https = envWith({ ISSUER: issuer });
  const stateCookie = cookieName(issuer, BETTER_AUTH_PLUGIN_COOKIE.logoutConfirmation);

  it("keeps the confirmation state at Path=/, as a browser requires of a __Host- cookie, and the confirmation completes", async () => {
    // RFC 6265bis §4.1.3.2: a browser refuses a `__Host-` cookie with any other Path. Better Auth scopes this
    // cookie to its confirmation path; better-call's serializer sets `/` for the prefix, which this guards.
    const email = uniqueEmail();
    const headers = new Headers({ Origin: issuer });
    const auth = getAuth(https);
    await auth.api.signUpEmail({ body: { name: "Https Logout", email, password: PASSWORD }, headers });
    // A public issuer verifies addresses first: confirmed here as the verification link would.
    await env.DB.prepare("UPDATE user SET email_verified = 1 WHERE email = ?").bind(email).run();
    const signedIn = await auth.api.signInEmail({ body: { email, password: PASSWORD }, headers, asResponse: true });
    const session = cookiesFrom(signedIn);
    expect(session).toMatch(/^__Host-mono\.session_token=/);

    const asked = await call(
      https,
      new Request(`${issuer}${OIDC_ENDPOINT.endSession}`, { headers: { ...NAVIGATE, Cookie: session } }),
    );
    expect(asked.status).toBe(200);
    const kept = asked.headers.getSetCookie().find((line) => line.startsWith(`${stateCookie}=`));
    const attributes = (kept ?? "").split("; ").slice(1);
    expect(attributes).toContain("Path=/");
    expect(attributes).toContain("Secure");
    expect(attributes).toContain("HttpOnly");
    expect(attributes.filter((a) => a.startsWith("Path="))).toEqual(["Path=/"]);

    const confirmed = await call(
      https,
      new Request(`${issuer}${OIDC_ENDPOINT.endSessionConfirm}`, {
        method: "POST",
        headers: {
          ...NAVIGATE,
          "Content-Type": "application/x-www-form-urlencoded",
          Origin: issuer,
          Cookie: `${session}; ${cookiesFrom(asked)}`,
        },
        body: new URLSearchParams({ action: "confirm" }),
      }),
    );
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('data-testid="signed-out"');
    // Cleared at the same Path it was set at, so the browser drops that very cookie.
    const cleared = confirmed.headers.getSetCookie().find((line) => line.startsWith(`${stateCookie}=`));
    expect(cleared).toMatch(/Max-Age=0/);
    expect(cleared).toMatch(/; Path=\/(;|$)/);
  });
});
