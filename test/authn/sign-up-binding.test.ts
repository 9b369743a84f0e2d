import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { apiTo, call, formTo, getFrom, mailTo, tokenFromMail, VERIFYING } from "./email-helpers.ts";
import { cookiesFrom, ORIGIN, PASSWORD, uniqueEmail } from "./helpers.ts";

/**
 * Account pre-hijacking (Sudhodanan & Paverd 2022): an attacker signs up with
 * the victim's address and their own password and has the link sent; the
 * victim's click must not verify that account
 * (workers/authn/src/security/sign-up-binding.ts).
 */
const ATTACKER_PASSWORD = "attacker picked this one";
const PASSWORD_REQUIRED = "EMAIL_VERIFICATION_PASSWORD_REQUIRED";

async function emailVerified(email: string): Promise<number | undefined> {
  const row = await env.DB.prepare("SELECT email_verified AS v FROM user WHERE email = ?")
    .bind(email)
    .first<{ v: number }>();
  return row?.v;
}

afterEach(() => {
  vi.useRealTimers();
});

function errorCode(html: string): string | undefined {
  return /data-testid="error-code">([^<]*)</.exec(html)?.[1];
}

/**
 * Mail goes out after the answer (Better Auth's background tasks), which a test's request does not wait for.
 * Up to 10 s, as expect.poll here (vitest.config.ts): 3 s was short on a loaded CI machine.
 */
async function eventually<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const link = (token: string) => `/verify-email?token=${encodeURIComponent(token)}`;

/** The attacker's sign-up with the victim's address, through the API, and a resend for good measure. */
async function attackerSignsUp(victim: string): Promise<string> {
  const signUp = await apiTo(VERIFYING, "/sign-up/email", {
    name: "Mallory",
    email: victim,
    password: ATTACKER_PASSWORD,
  });
  expect(signUp.status).toBe(200);
  const resend = await formTo(VERIFYING, "/verify-email", { email: victim });
  expect(resend.status).toBe(200);
  return tokenFromMail(victim, "verify-email");
}

describe("a verification link confirms a sign-up only for whoever chose its password", { timeout: 60_000 }, () => {
  it("the victim's click from another browser verifies nothing, and the attacker still cannot sign in", async () => {
    const victim = uniqueEmail();
    const token = await attackerSignsUp(victim);

    const mail = (await mailTo(victim)).find((m) => m.kind === "verify-email");
    expect(mail?.subject).toBe("Confirm your Mono-Auth sign-up");
    expect(mail?.text).toContain("Someone signed up for a Mono-Auth account with this address.");
    expect(mail?.text).toContain("If you did not sign up, ignore this mail and do not confirm");

    // Opening the link asks for the password and tells the owner to reset instead.
    const opened = await getFrom(VERIFYING, link(token));
    expect(opened.status).toBe(200);
    const page = await opened.text();
    expect(page).toContain("Confirm with my password");
    expect(page).toContain('data-testid="not-you"');
    expect(page).toContain('href="/forgot-password"');
    expect(page).not.toContain("Confirm my email address");

    // The click's POST, as the old page sent it: refused, nothing verified.
    const clicked = await formTo(VERIFYING, "/verify-email", { token });
    expect(clicked.status).toBe(403);
    expect(errorCode(await clicked.text())).toBe(PASSWORD_REQUIRED);
    // Better Auth's own endpoint is held by the same hook.
    const direct = await getFrom(VERIFYING, `/api/auth/verify-email?token=${encodeURIComponent(token)}`);
    expect(direct.status).toBe(403);
    expect(((await direct.json()) as { code: string }).code).toBe(PASSWORD_REQUIRED);
    expect(await emailVerified(victim)).toBe(0);

    const signIn = await apiTo(VERIFYING, "/sign-in/email", { email: victim, password: ATTACKER_PASSWORD });
    expect(signIn.status).toBe(403);
    expect(((await signIn.json()) as { code: string }).code).toBe("EMAIL_NOT_VERIFIED");
  });

  it("the victim takes the account over by a reset, then confirms it with their own password", async () => {
    const victim = uniqueEmail();
    const token = await attackerSignsUp(victim);
    // A reset of an account never confirmed removes what its creator set up (unproven-account-reset.test.ts).
    await formTo(VERIFYING, "/forgot-password", { email: victim });
    const reset = await eventually(() => tokenFromMail(victim, "reset-password", VERIFYING));
    expect((await formTo(VERIFYING, "/reset-password", { token: reset, password: PASSWORD })).status).toBe(200);
    expect(await emailVerified(victim)).toBe(0);

    const confirmed = await formTo(VERIFYING, "/verify-email", { token, password: PASSWORD });
    expect(confirmed.status).toBe(200);
    expect(await emailVerified(victim)).toBe(1);
    const attacker = await apiTo(VERIFYING, "/sign-in/email", { email: victim, password: ATTACKER_PASSWORD });
    expect(attacker.status).toBe(401);
    expect(((await attacker.json()) as { code: string }).code).toBe("INVALID_EMAIL_OR_PASSWORD");
  });

  it("a sign-up with the taken address leaves the victim's browser no binding to the attacker's account", async () => {
    const victim = uniqueEmail();
    await attackerSignsUp(victim);
    const again = await formTo(VERIFYING, "/sign-up", { name: "Victim", email: victim, password: PASSWORD });
    expect(again.status).toBe(303);
    const browser = { Cookie: cookiesFrom(again) };
    expect(browser.Cookie).toContain("mono.sign_up_binding=");
    // A sign-in with their own password is refused (wrong password); the resend sends a link.
    await formTo(VERIFYING, "/verify-email", { email: victim });
    const token = await tokenFromMail(victim, "verify-email");

    const clicked = await formTo(VERIFYING, "/verify-email", { token }, browser);
    expect(clicked.status).toBe(403);
    expect(errorCode(await clicked.text())).toBe(PASSWORD_REQUIRED);
    expect(await emailVerified(victim)).toBe(0);
  });

  it("the browser that signed up confirms with a click, and is not signed in by it", async () => {
    const email = uniqueEmail();
    const signUp = await formTo(VERIFYING, "/sign-up", { name: "Bea", email, password: PASSWORD });
    const binding = signUp.headers.getSetCookie()[0] ?? "";
    expect(binding).toMatch(/^mono\.sign_up_binding=\d+\.[\w-]{43}; Max-Age=3600; Path=\/; HttpOnly; SameSite=Lax$/);
    const browser = { Cookie: cookiesFrom(signUp) };
    const token = await tokenFromMail(email, "verify-email");

    const opened = await getFrom(VERIFYING, link(token), browser);
    expect(await opened.text()).toContain("Confirm my email address");
    const confirmed = await formTo(VERIFYING, "/verify-email", { token }, browser);
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('data-testid="verified"');
    expect(confirmed.headers.getSetCookie().some((c) => c.includes("session_token="))).toBe(false);
    expect(await emailVerified(email)).toBe(1);
  });

  it("another device confirms with the account's password, and is not signed in by it", async () => {
    const email = uniqueEmail();
    await formTo(VERIFYING, "/sign-up", { name: "Dev", email, password: PASSWORD });
    const token = await tokenFromMail(email, "verify-email");

    const confirmed = await formTo(VERIFYING, "/verify-email", { token, password: PASSWORD });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('data-testid="verified"');
    expect(confirmed.headers.getSetCookie()).toEqual([]);
    expect(await emailVerified(email)).toBe(1);

    const signIn = await apiTo(VERIFYING, "/sign-in/email", { email, password: PASSWORD });
    expect(signIn.status).toBe(200);
  });

  it("a wrong password is refused 401 INVALID_PASSWORD and delayed as a sign-in is", async () => {
    const victim = uniqueEmail();
    const token = await attackerSignsUp(victim);
    // The Worker runs in this isolate and reads the test's Date: paused, the 2 s wait the sixth failure
    // stores cannot run out before the attempts that check it, however slowly a loaded machine gets
    // there (as sign-in-throttle.test.ts pauses it). Only Date: timers and I/O run as usual.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
    // The five failures an account has free, then the first delayed one.
    for (let i = 0; i < 6; i++) {
      const guess = await formTo(VERIFYING, "/verify-email", { token, password: `${PASSWORD} ${i}` });
      expect(guess.status).toBe(401);
      expect(errorCode(await guess.text())).toBe("INVALID_PASSWORD");
    }
    const waiting = await formTo(VERIFYING, "/verify-email", { token, password: ATTACKER_PASSWORD });
    expect(waiting.status).toBe(429);
    expect(waiting.headers.get("Retry-After")).toMatch(/^\d+$/);
    expect(errorCode(await waiting.text())).toBe("rate_limited");
    expect(await emailVerified(victim)).toBe(0);
    // The same account's sign-in waits too: one count for both.
    const signIn = await apiTo(VERIFYING, "/sign-in/email", { email: victim, password: ATTACKER_PASSWORD });
    expect(signIn.status).toBe(429);
    expect(((await signIn.json()) as { error: string }).error).toBe("rate_limited");
  });

  it("a password post from another origin is refused before anything is checked (CSRF)", async () => {
    const email = uniqueEmail();
    await formTo(VERIFYING, "/sign-up", { name: "Csrf", email, password: PASSWORD });
    const token = await tokenFromMail(email, "verify-email");
    const response = await call(
      VERIFYING,
      new Request(`${ORIGIN}/verify-email`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "https://evil.example" },
        body: new URLSearchParams({ token, password: PASSWORD }),
      }),
    );
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe("cross_origin_post");
    expect(await emailVerified(email)).toBe(0);
  });
});
