// NIST SP 800-63B §5.1.1.2: "For purposes of the above length requirements,
// each Unicode code point SHALL be counted as a single character." Better
// Auth counts UTF-16 code units (String.length), so a character outside
// the Basic Multilingual Plane (an emoji, many CJK extensions) counted
// twice: four emoji passed the 8-character minimum, and 100 emoji were
// refused as longer than 128.
import { describe, expect, it } from "vitest";
import { apiTo, envWith, formTo, tokenFromMail } from "./email-helpers.ts";
import { api, form, PASSWORD, signUp, uniqueEmail } from "./helpers.ts";

const LOCAL = envWith({});

async function signUpAnswer(password: string) {
  const response = await api("/sign-up/email", { name: "Code Points", email: uniqueEmail(), password });
  return { status: response.status, code: ((await response.json()) as { code?: string }).code };
}

describe("password length in Unicode code points (NIST SP 800-63B §5.1.1.2)", { timeout: 60_000 }, () => {
  it("refuses 7 code points however many UTF-16 units they take, and takes 8", async () => {
    expect(await signUpAnswer("🦊🦊🦊🦊")).toEqual({ status: 400, code: "PASSWORD_TOO_SHORT" });
    expect(await signUpAnswer("🦊🦊🦊🦊🦊🦊🦊")).toEqual({ status: 400, code: "PASSWORD_TOO_SHORT" });
    expect((await signUpAnswer("🦊🦊🦊🦊🦊🦊🦊🦊")).status).toBe(200);
  });

  it("takes 128 code points of astral characters and refuses 129", async () => {
    expect((await signUpAnswer("𝄞".repeat(128))).status).toBe(200);
    expect(await signUpAnswer("𝄞".repeat(129))).toEqual({ status: 400, code: "PASSWORD_TOO_LONG" });
    // ASCII is unchanged: 128 in, 129 out.
    expect((await signUpAnswer("x".repeat(127) + "y")).status).toBe(200);
    expect(await signUpAnswer("x".repeat(129))).toEqual({ status: 400, code: "PASSWORD_TOO_LONG" });
  });

  it("counts so at change-password and reset too, and the page says the minimum", async () => {
    const person = await signUp("Changer");
    const change = await api(
      "/change-password",
      { currentPassword: PASSWORD, newPassword: "🦊🦊🦊🦊" },
      { Cookie: person.cookie },
    );
    expect(change.status).toBe(400);
    expect(((await change.json()) as { code: string }).code).toBe("PASSWORD_TOO_SHORT");

    await formTo(LOCAL, "/forgot-password", { email: person.email });
    const token = await tokenFromMail(person.email, "reset-password");
    const reset = await apiTo(LOCAL, "/reset-password", { token, newPassword: "🦊🦊🦊🦊" });
    expect(reset.status).toBe(400);
    expect(((await reset.json()) as { code: string }).code).toBe("PASSWORD_TOO_SHORT");
    const long = await formTo(LOCAL, "/reset-password", { token, password: "𝄞".repeat(120) });
    expect(long.status).toBe(200);

    const page = await form("/sign-up", { name: "Page", email: uniqueEmail(), password: "🦊🦊🦊🦊" });
    expect(page.status).toBe(400);
    expect(await page.text()).toContain("Use a password of at least 8 characters.");
  });
});
