// NIST SP 800-63B §5.1.1.2 (rev. 3; 800-63B-4 §3.1.1.2): a new password is
// compared against "context-specific words, such as the name of the
// service, the username, and derivatives thereof", and refused when it is
// one. Here: the account's email address, its local part, the person's
// name, and the service's own name, in any letter case, with or without
// trailing digits and punctuation.
import { describe, expect, it } from "vitest";
import { apiTo, envWith, formTo, tokenFromMail } from "./email-helpers.ts";
import { api, form, PASSWORD, signUp, uniqueEmail } from "./helpers.ts";

const LOCAL = envWith({});
const CODE = "PASSWORD_CONTEXT_SPECIFIC";

async function signUpAnswer(body: { name: string; email: string; password: string }) {
  const response = await api("/sign-up/email", body);
  const parsed = (await response.json()) as { code?: string };
  return { status: response.status, code: parsed.code };
}

describe("password policy: context-specific words (NIST SP 800-63B §5.1.1.2)", { timeout: 60_000 }, () => {
  it("refuses the email address, its local part, the name and the service's name at sign-up", async () => {
    // Letters only, so "local + digits" has the local part as its stem.
    const local = `ctx${crypto
      .randomUUID()
      .replace(/[^a-f]/g, "")
      .padEnd(8, "q")}`;
    const email = `${local}@example.com`;
    for (const password of [email, email.toUpperCase(), local, `${local}2026!`, "Mono-Auth1", "monoauth123"]) {
      expect({ password, ...(await signUpAnswer({ name: "Context", email, password })) }).toEqual({
        password,
        status: 400,
        code: CODE,
      });
    }
    expect(
      await signUpAnswer({ name: "Margaret Hamilton", email: uniqueEmail(), password: "margaret hamilton" }),
    ).toEqual({ status: 400, code: CODE });
    // Nothing was created by the refusals: the address still signs up with a good password.
    expect((await signUpAnswer({ name: "Context", email, password: PASSWORD })).status).toBe(200);
  });

  it("says so on the sign-up page, with a 400 and its own words", async () => {
    const email = uniqueEmail();
    const page = await form("/sign-up", { name: "Page Person", email, password: email });
    expect(page.status).toBe(400);
    expect(await page.text()).toContain("Choose a password that is not your email address, your name or our name.");
  });

  it("refuses the account's own address at change-password and at reset (the link stays usable)", async () => {
    const person = await signUp("Changer");
    const change = await api(
      "/change-password",
      { currentPassword: PASSWORD, newPassword: person.email },
      { Cookie: person.cookie },
    );
    expect(change.status).toBe(400);
    expect(((await change.json()) as { code: string }).code).toBe(CODE);

    await formTo(LOCAL, "/forgot-password", { email: person.email });
    const token = await tokenFromMail(person.email, "reset-password");
    const reset = await apiTo(LOCAL, "/reset-password", { token, newPassword: person.email.toUpperCase() });
    expect(reset.status).toBe(400);
    expect(((await reset.json()) as { code: string }).code).toBe(CODE);
    const page = await formTo(LOCAL, "/reset-password", { token, password: person.email });
    expect(page.status).toBe(400);
    expect(await page.text()).toContain("Choose a password that is not your email address, your name or our name.");
    // The refusals spent nothing: the same link still sets a good password.
    expect((await formTo(LOCAL, "/reset-password", { token, password: "a wholly unrelated passphrase" })).status).toBe(
      200,
    );
  });

  it("judges a reset by the token's account only: a bad token names no account, so INVALID_TOKEN", async () => {
    const person = await signUp("Someone");
    const response = await apiTo(LOCAL, "/reset-password", { token: "no-such-token", newPassword: person.email });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("INVALID_TOKEN");
  });
});
