import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { apiTo, call, formTo, getFrom, linksIn, mailTo, tokenFromMail, VERIFYING } from "./email-helpers.ts";
import { cookiesFrom, ORIGIN, PASSWORD, uniqueEmail } from "./helpers.ts";

/** Better Auth's code for a sign-in with the right password and an unconfirmed address. */
const EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED";

async function emailVerified(email: string): Promise<number | undefined> {
  const row = await env.DB.prepare("SELECT email_verified AS v FROM user WHERE email = ?")
    .bind(email)
    .first<{ v: number }>();
  return row?.v;
}

describe("email verification (REQUIRE_EMAIL_VERIFICATION on, production's default)", { timeout: 60_000 }, () => {
  it("sign-up sends one link and no session; sign-in is refused until the address is confirmed", async () => {
    const email = uniqueEmail();
    const signUp = await formTo(VERIFYING, "/sign-up", { name: "Vera", email, password: PASSWORD });
    expect(signUp.status).toBe(303);
    expect(signUp.headers.get("Location")).toBe("/verify-email?sent=1");
    // No session; only the binding that lets this browser confirm with a click (sign-up-binding.test.ts).
    expect(signUp.headers.getSetCookie().map((line) => line.split("=")[0])).toEqual(["mono.sign_up_binding"]);

    const [mail, ...more] = await mailTo(email);
    expect(more).toEqual([]);
    expect(mail?.kind).toBe("verify-email");
    // One link, to our page, carrying only the token.
    const links = linksIn(mail!);
    expect(links).toHaveLength(1);
    expect(new URL(links[0]!).pathname).toBe("/verify-email");
    expect([...new URL(links[0]!).searchParams.keys()]).toEqual(["token"]);

    const api = await apiTo(VERIFYING, "/sign-in/email", { email, password: PASSWORD });
    expect(api.status).toBe(403);
    expect(((await api.json()) as { code: string }).code).toBe(EMAIL_NOT_VERIFIED);
    const page = await formTo(VERIFYING, "/sign-in", { email, password: PASSWORD });
    expect(page.status).toBe(403);
    expect(await page.text()).toContain("Confirm your email address first: we have sent you a new link.");
    // Each refused sign-in (right password) sent a fresh link.
    expect((await mailTo(email)).filter((m) => m.kind === "verify-email")).toHaveLength(3);
  });

  it("opening the link confirms nothing; the page's POST does, and then sign-in works and creates the org", async () => {
    const email = uniqueEmail();
    // The browser that signed up (other browsers: sign-up-binding.test.ts).
    const browser = {
      Cookie: cookiesFrom(await formTo(VERIFYING, "/sign-up", { name: "Otto", email, password: PASSWORD })),
    };
    const token = await tokenFromMail(email, "verify-email");

    const opened = await getFrom(VERIFYING, `/verify-email?token=${encodeURIComponent(token)}`, browser);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toContain("Confirm my email address");
    expect(await emailVerified(email)).toBe(0);

    const confirmed = await formTo(VERIFYING, "/verify-email", { token }, browser);
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('data-testid="verified"');
    expect(await emailVerified(email)).toBe(1);
    // autoSignInAfterVerification is off: confirming is not signing in.
    expect(confirmed.headers.getSetCookie().some((c) => c.includes("session_token="))).toBe(false);

    const signIn = await formTo(VERIFYING, "/sign-in", { email, password: PASSWORD });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get("Location")).toBe("/app");
    const row = await env.DB.prepare(
      `SELECT m.role, s.active_organization_id = m.organization_id AS active
         FROM user u JOIN member m ON m.user_id = u.id JOIN session s ON s.user_id = u.id WHERE u.email = ?`,
    )
      .bind(email)
      .first<{ role: string; active: number }>();
    expect(row).toEqual({ role: "owner", active: 1 });
    const app = await call(VERIFYING, new Request(`${ORIGIN}/app`, { headers: { Cookie: cookiesFrom(signIn) } }));
    expect(app.status).toBe(200);
  });

  it("refuses a forged or altered token with 400 and a resend form, never a 500", async () => {
    for (const token of ["not-a-token", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"]) {
      const response = await formTo(VERIFYING, "/verify-email", { token });
      expect(response.status).toBe(400);
      const html = await response.text();
      expect(html).toContain("This link is invalid or has expired. Ask for a new one below.");
      expect(html).toContain("Send a new link");
    }
  });

  it("resends a link to an unconfirmed address, answering every address alike", async () => {
    const email = uniqueEmail();
    await formTo(VERIFYING, "/sign-up", { name: "Resend", email, password: PASSWORD });
    const pending = await formTo(VERIFYING, "/verify-email", { email });
    const unknown = await formTo(VERIFYING, "/verify-email", { email: uniqueEmail() });
    expect(pending.status).toBe(200);
    expect(unknown.status).toBe(200);
    const strip = (html: string) => html.replace(/nonce="[^"]+"/g, "");
    expect(strip(await pending.text())).toBe(strip(await unknown.text()));
    expect((await mailTo(email)).filter((m) => m.kind === "verify-email")).toHaveLength(2);
  });

  it("refuses cross-origin posts to the page (CSRF)", async () => {
    const response = await formTo(
      VERIFYING,
      "/verify-email",
      { email: uniqueEmail() },
      { Origin: "https://evil.example" },
    );
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe("cross_origin_post");
  });
});

describe("email verification off (local runs: REQUIRE_EMAIL_VERIFICATION=false)", { timeout: 60_000 }, () => {
  it("signs in at once and still mails a link to confirm the address", async () => {
    const email = uniqueEmail();
    const signUp = await formTo(env as unknown as AuthnEnv, "/sign-up", { name: "Local", email, password: PASSWORD });
    expect(signUp.status).toBe(303);
    expect(signUp.headers.get("Location")).toBe("/app");
    expect((await mailTo(email)).map((m) => m.kind)).toEqual(["verify-email"]);
  });
});
