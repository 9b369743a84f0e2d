import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { apiTo, envWith, formTo, getFrom, linksIn, mailTo, tokenFromMail } from "./email-helpers.ts";
import { cookiesFrom, PASSWORD, revocations, signUp, uniqueEmail } from "./helpers.ts";
import { enableTotp } from "./two-factor-flow.ts";

const LOCAL = envWith({});
const NEW_PASSWORD = "a brand new passphrase for reset";

describe("password reset", { timeout: 60_000 }, () => {
  it("mails one single-use link; the reset ends every session, records their revocations and signs nobody in", async () => {
    const person = await signUp("Resetting");
    const second = await formTo(LOCAL, "/sign-in", { email: person.email, password: PASSWORD });
    expect(second.status).toBe(303);

    const requested = await formTo(LOCAL, "/forgot-password", { email: person.email });
    expect(requested.status).toBe(200);
    const [mail] = (await mailTo(person.email)).filter((m) => m.kind === "reset-password");
    const links = linksIn(mail!);
    expect(links).toHaveLength(1);
    expect(new URL(links[0]!).pathname).toBe("/reset-password");
    expect(mail!.text).toContain("within 15 minutes");
    const token = await tokenFromMail(person.email, "reset-password");

    // Opening the link shows the form and spends nothing.
    const opened = await getFrom(LOCAL, `/reset-password?token=${encodeURIComponent(token)}`);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toContain('name="token"');

    const reset = await formTo(LOCAL, "/reset-password", { token, password: NEW_PASSWORD });
    expect(reset.status).toBe(200);
    expect(await reset.text()).toContain('data-testid="reset-done"');
    // No session comes out of a reset (autoSignIn is not a reset option): a
    // second factor, when enrolled, is still asked at the next sign-in.
    expect(reset.headers.getSetCookie().some((c) => c.includes("session_token="))).toBe(false);

    const left = await env.DB.prepare("SELECT COUNT(*) AS n FROM session WHERE user_id = ?")
      .bind(person.userId)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
    expect(await revocations(person.orgId)).toContainEqual(
      expect.objectContaining({ kind: "session", value: person.sessionId }),
    );

    // Single use.
    const again = await apiTo(LOCAL, "/reset-password", { token, newPassword: "yet another fine passphrase" });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { code: string }).code).toBe("INVALID_TOKEN");

    expect((await formTo(LOCAL, "/sign-in", { email: person.email, password: PASSWORD })).status).toBe(401);
    expect((await formTo(LOCAL, "/sign-in", { email: person.email, password: NEW_PASSWORD })).status).toBe(303);
  });

  it("a link works once when several posts present it at once: one new password, the rest 400 INVALID_TOKEN", async () => {
    const person = await signUp("Racing");
    await formTo(LOCAL, "/forgot-password", { email: person.email });
    const token = await tokenFromMail(person.email, "reset-password");
    const passwords = Array.from({ length: 5 }, (_, i) => `${NEW_PASSWORD} ${i}`);
    const answers = await Promise.all(
      passwords.map((newPassword) => apiTo(LOCAL, "/reset-password", { token, newPassword })),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400, 400, 400, 400]);
    for (const answer of answers.filter((a) => a.status === 400)) {
      expect(((await answer.json()) as { code: string }).code).toBe("INVALID_TOKEN");
    }
    const winner = passwords[answers.findIndex((answer) => answer.status === 200)] ?? "";
    for (const password of passwords) {
      const signIn = await formTo(LOCAL, "/sign-in", { email: person.email, password });
      expect(signIn.status).toBe(password === winner ? 303 : 401);
    }
  });

  it("does not bypass the second factor: after a reset the new password still stops at the TOTP challenge", async () => {
    const person = await signUp("Two Factor");
    // A confirmed address: an unproven account's reset clears its factors (unproven-account-reset.test.ts).
    await env.DB.prepare("UPDATE user SET email_verified = 1 WHERE id = ?").bind(person.userId).run();
    await enableTotp(person.cookie);
    await formTo(LOCAL, "/forgot-password", { email: person.email });
    const token = await tokenFromMail(person.email, "reset-password");
    const reset = await formTo(LOCAL, "/reset-password", { token, password: NEW_PASSWORD });
    expect(reset.status).toBe(200);
    expect(reset.headers.getSetCookie().some((c) => /session_token=[^;]/.test(c))).toBe(false);
    const signIn = await apiTo(LOCAL, "/sign-in/email", { email: person.email, password: NEW_PASSWORD });
    expect(signIn.status).toBe(200);
    expect(await signIn.json()).toMatchObject({ twoFactorRedirect: true });
    expect(signIn.headers.getSetCookie().some((c) => /session_token=[^;]/.test(c))).toBe(false);
  });

  it("refuses an expired link with INVALID_TOKEN", async () => {
    const person = await signUp("Late");
    await formTo(LOCAL, "/forgot-password", { email: person.email });
    const token = await tokenFromMail(person.email, "reset-password");
    await env.DB.prepare("UPDATE verification SET expires_at = ? WHERE identifier = ?")
      .bind(Date.now() - 1000, `reset-password:${token}`)
      .run();
    const response = await apiTo(LOCAL, "/reset-password", { token, newPassword: NEW_PASSWORD });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("INVALID_TOKEN");
    const page = await formTo(LOCAL, "/reset-password", { token, password: NEW_PASSWORD });
    expect(page.status).toBe(400);
    expect(await page.text()).toContain("This reset link is invalid, used or expired. Ask for a new one.");
  });

  it("applies the password policy to the new password and keeps the link usable", async () => {
    const person = await signUp("Policy");
    await formTo(LOCAL, "/forgot-password", { email: person.email });
    const token = await tokenFromMail(person.email, "reset-password");
    const common = await apiTo(LOCAL, "/reset-password", { token, newPassword: "Password123" });
    expect(common.status).toBe(400);
    expect(((await common.json()) as { code: string }).code).toBe("PASSWORD_TOO_COMMON");
    const short = await formTo(LOCAL, "/reset-password", { token, password: "short" });
    expect(short.status).toBe(400);
    expect(await short.text()).toContain("Use a password of at least 8 characters.");
    expect((await formTo(LOCAL, "/reset-password", { token, password: NEW_PASSWORD })).status).toBe(200);
  });

  it("answers a request for an unknown address exactly as for a known one, and mails nobody", async () => {
    const person = await signUp("Known");
    const stranger = uniqueEmail();
    const known = await apiTo(LOCAL, "/request-password-reset", { email: person.email });
    const unknown = await apiTo(LOCAL, "/request-password-reset", { email: stranger });
    expect(unknown.status).toBe(known.status);
    expect(await unknown.text()).toBe(await known.text());
    const strip = (html: string) => html.replace(/nonce="[^"]+"/g, "");
    const knownPage = await formTo(LOCAL, "/forgot-password", { email: person.email });
    const unknownPage = await formTo(LOCAL, "/forgot-password", { email: stranger });
    expect(unknownPage.status).toBe(knownPage.status);
    expect(strip(await unknownPage.text())).toBe(strip(await knownPage.text()));
    expect(await mailTo(stranger)).toEqual([]);
  });

  it("shows a clear page for a link without a token, never a 500", async () => {
    const response = await getFrom(LOCAL, "/reset-password");
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("Ask for a new one.");
  });

  it("keeps the session cookie unused by a reset request made while signed in", async () => {
    const person = await signUp("Signed In");
    const response = await formTo(LOCAL, "/forgot-password", { email: person.email }, { Cookie: person.cookie });
    expect(response.status).toBe(200);
    expect(cookiesFrom(response)).toBe("");
  });
});
