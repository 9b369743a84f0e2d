import { describe, expect, it } from "vitest";
import { isCommonPassword } from "../../workers/authn/src/security/password-policy.ts";
import { api, form, PASSWORD, signUp, uniqueEmail } from "./helpers.ts";

async function signUpCode(password: string): Promise<{ status: number; code?: string }> {
  const response = await api("/sign-up/email", { name: "Policy", email: uniqueEmail(), password });
  const body = (await response.json()) as { code?: string };
  return { status: response.status, ...(body.code ? { code: body.code } : {}) };
}

describe("password policy (NIST SP 800-63B §3.1.1.2)", { timeout: 60_000 }, () => {
  it("takes 8 to 128 characters of anything, with no composition rules", async () => {
    expect(await signUpCode("abcdefg")).toEqual({ status: 400, code: "PASSWORD_TOO_SHORT" });
    expect((await signUpCode("zq8 rty!")).status).toBe(200);
    // No composition rules: all lower case, or all spaces and emoji, are fine when long enough.
    expect((await signUpCode("onlylowercaseletters")).status).toBe(200);
    expect((await signUpCode("🦊🦊 🦊🦊 🦊🦊")).status).toBe(200);
    expect((await signUpCode("x".repeat(127) + "y")).status).toBe(200);
    expect(await signUpCode("x".repeat(129))).toEqual({ status: 400, code: "PASSWORD_TOO_LONG" });
  });

  it("refuses the most common passwords, in any letter case, with PASSWORD_TOO_COMMON", async () => {
    for (const password of ["password", "12345678", "Password123", "QWERTYUIOP", "iloveyou1"]) {
      expect(await signUpCode(password)).toEqual({ status: 400, code: "PASSWORD_TOO_COMMON" });
    }
    expect(isCommonPassword(PASSWORD)).toBe(false);
  });

  it("checks on sign-up (page), reset and change alike", async () => {
    const page = await form("/sign-up", { name: "Page", email: uniqueEmail(), password: "football" });
    expect(page.status).toBe(400);
    expect(await page.text()).toContain("That password is one of the most common ones. Choose another.");

    const person = await signUp("Changer");
    const change = await api(
      "/change-password",
      { currentPassword: PASSWORD, newPassword: "password1" },
      { Cookie: person.cookie },
    );
    expect(change.status).toBe(400);
    expect(((await change.json()) as { code: string }).code).toBe("PASSWORD_TOO_COMMON");
  });

  it("does not turn a sign-in with a common password into a different answer (no enumeration)", async () => {
    const person = await signUp("Existing");
    const known = await api("/sign-in/email", { email: person.email, password: "password123" });
    const unknown = await api("/sign-in/email", { email: uniqueEmail(), password: "password123" });
    expect(known.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await unknown.text()).toBe(await known.text());
  });
});
