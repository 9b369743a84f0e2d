import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cookiesFrom, form, ORIGIN, PASSWORD, uniqueEmail } from "./helpers.ts";

describe("sign-up page", () => {
  it("creates the user, their organization (as owner) and an active session, then goes to /app", async () => {
    const email = uniqueEmail();
    const response = await form("/sign-up", { name: "Grace Hopper", email, password: PASSWORD });
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/app");
    const cookie = cookiesFrom(response);
    expect(cookie).toContain("mono.session_token=");

    const row = await env.DB.prepare(
      `SELECT u.id AS user_id, m.role, o.id AS org_id, s.active_organization_id
         FROM user u JOIN member m ON m.user_id = u.id JOIN organization o ON o.id = m.organization_id
         JOIN session s ON s.user_id = u.id WHERE u.email = ?`,
    )
      .bind(email)
      .first<{ role: string; org_id: string; active_organization_id: string }>();
    expect(row?.role).toBe("owner");
    expect(row?.active_organization_id).toBe(row?.org_id);

    const app = await exports.default.fetch(new Request(`${ORIGIN}/app`, { headers: { Cookie: cookie } }));
    expect(app.status).toBe(200);
    const html = await app.text();
    expect(html).toContain(email);
    expect(html).toContain("Load my documents");
  });

  it("re-renders with a clear message for bad input, never a 500", async () => {
    const missing = await form("/sign-up", { email: uniqueEmail(), password: PASSWORD });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain("Enter your name, email and a password.");

    const short = await form("/sign-up", { name: "A", email: uniqueEmail(), password: "short" });
    expect(short.status).toBe(400);
    expect(await short.text()).toContain("Use a password of at least 8 characters.");

    const email = uniqueEmail();
    expect((await form("/sign-up", { name: "A", email, password: PASSWORD })).status).toBe(303);
    const again = await form("/sign-up", { name: "A", email, password: PASSWORD });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain("An account with that email already exists. Sign in instead.");

    const invalid = await form("/sign-up", { name: "A", email: "not-an-address", password: PASSWORD });
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toContain("Enter a valid email address.");

    const longName = await form("/sign-up", { name: "n".repeat(101), email: uniqueEmail(), password: PASSWORD });
    expect(longName.status).toBe(400);
    expect(await longName.text()).toContain("Use a name of at most 100 characters.");
  });

  it("serves the sign-up form with labelled fields", async () => {
    const page = await exports.default.fetch(`${ORIGIN}/sign-up`);
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<form class="card" method="post" action="/sign-up">');
    for (const field of ['name="name"', 'name="email"', 'name="password"']) expect(html).toContain(field);
    expect(html).toContain("Create account");
  });
});

/** Better Auth's stable error code for a request from an untrusted origin. */
const BETTER_AUTH_ORIGIN_ERROR = "INVALID_ORIGIN";

describe("sign-in page", () => {
  it("signs in with the right password and refuses the wrong one with 401", async () => {
    const email = uniqueEmail();
    await form("/sign-up", { name: "Ada", email, password: PASSWORD });
    const good = await form("/sign-in", { email, password: PASSWORD });
    expect(good.status).toBe(303);
    expect(cookiesFrom(good)).toContain("mono.session_token=");

    const bad = await form("/sign-in", { email, password: "not the password at all" });
    expect(bad.status).toBe(401);
    const html = await bad.text();
    expect(html).toContain("That email and password do not match an account.");
    expect(html).toContain(`value="${email}"`);

    const unknown = await form("/sign-in", { email: uniqueEmail(), password: PASSWORD });
    expect(unknown.status).toBe(401);
  });

  it("starts a new session in the person's first organization", async () => {
    const email = uniqueEmail();
    await form("/sign-up", { name: "Returning", email, password: PASSWORD });
    await form("/sign-in", { email, password: PASSWORD });
    const { results } = await env.DB.prepare(
      `SELECT s.active_organization_id AS active, m.organization_id AS org
         FROM session s JOIN user u ON u.id = s.user_id JOIN member m ON m.user_id = u.id WHERE u.email = ?`,
    )
      .bind(email)
      .all<{ active: string; org: string }>();
    expect(results).toHaveLength(2);
    for (const row of results) expect(row.active).toBe(row.org);
  });

  it("refuses cross-origin and Origin-less form posts (CSRF)", async () => {
    for (const response of [
      await form("/sign-in", { email: "a@b.c", password: PASSWORD }, { Origin: "https://evil.example" }),
      await form("/sign-in", { email: "a@b.c", password: PASSWORD }, {}),
      await form("/sign-up", { name: "x", email: "a@b.c", password: PASSWORD }, { Origin: "https://evil.example" }),
    ]) {
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: string }).error).toBe("cross_origin_post");
    }
  });

  it("refuses a cross-origin call to Better Auth's API (trusted origins on)", async () => {
    const response = await exports.default.fetch(
      new Request(`${ORIGIN}/api/auth/sign-in/email`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Origin: "https://evil.example", Cookie: "mono.session_token=x" },
        body: JSON.stringify({ email: "a@b.c", password: PASSWORD }),
      }),
    );
    expect(response.status).toBe(403);
    expect(((await response.json()) as { code: string }).code).toBe(BETTER_AUTH_ORIGIN_ERROR);
  });

  it("serves the pages with a nonce CSP and anti-framing headers", async () => {
    const page = await exports.default.fetch(`${ORIGIN}/sign-in`);
    expect(page.status).toBe(200);
    const csp = page.headers.get("Content-Security-Policy") ?? "";
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get("X-Frame-Options")).toBe("DENY");
    expect(page.headers.get("X-Content-Type-Options")).toBe("nosniff");
    // `same-origin`, not `no-referrer`: see workers/authn/src/security/page-headers.ts.
    expect(page.headers.get("Referrer-Policy")).toBe("same-origin");
    const html = await page.text();
    expect(html).toContain(`nonce="${nonce}"`);
    expect(html).toContain('action="/sign-in"');
  });

  it("sends / to /app with a session and to /sign-in without one", async () => {
    const cookie = cookiesFrom(await form("/sign-up", { name: "Home", email: uniqueEmail(), password: PASSWORD }));
    const signedIn = await exports.default.fetch(
      new Request(`${ORIGIN}/`, { headers: { Cookie: cookie }, redirect: "manual" }),
    );
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get("Location")).toBe("/app");
    const anonymous = await exports.default.fetch(new Request(`${ORIGIN}/`, { redirect: "manual" }));
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get("Location")).toBe("/sign-in");
  });

  it("sends /app to /sign-in without a session", async () => {
    const response = await exports.default.fetch(new Request(`${ORIGIN}/app`, { redirect: "manual" }));
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/sign-in");
  });
});
