// A password reset does not turn a verified account's second factor off:
// after it, a password sign-in still stops at the TOTP challenge, and the
// sessions the person had are gone (workers/authn/src/auth/plugins/two-factor.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, exchange, get, signUp } from "./helpers.ts";
import { enableTotp } from "./two-factor-flow.ts";

interface Mail {
  kind: string;
  text: string;
}

/** The reset token from the newest reset mail in the dev mailbox (ENDPOINT.devMailbox, JSON). */
async function mailedResetToken(email: string): Promise<string> {
  const response = await get(`/dev/mailbox?format=json&to=${encodeURIComponent(email)}`);
  expect(response.status).toBe(200);
  const { messages } = (await response.json()) as { messages: Mail[] };
  const link = messages.find((m) => m.kind === "reset-password")?.text.match(/https?:\/\/\S+/)?.[0];
  const token = link ? new URL(link).searchParams.get("token") : null;
  if (!token) throw new Error("no reset link in the mailbox");
  return token;
}

describe("password reset and the second factor", () => {
  it("still asks for the TOTP code after a password reset", async () => {
    const person = await signUp();
    // A confirmed address: an unproven account's reset clears its factors (unproven-account-reset.test.ts).
    await env.DB.prepare("UPDATE user SET email_verified = 1 WHERE id = ?").bind(person.userId).run();
    const { cookie } = await enableTotp(person.cookie);
    const requested = await api("/request-password-reset", { email: person.email, redirectTo: "/reset-password" });
    expect(requested.status).toBe(200);
    const newPassword = "a different long passphrase";
    const reset = await api("/reset-password", { token: await mailedResetToken(person.email), newPassword });
    expect(reset.status).toBe(200);
    expect(reset.headers.getSetCookie().some((line) => /session_token=[^;]/.test(line))).toBe(false);

    const signIn = await api("/sign-in/email", { email: person.email, password: newPassword });
    expect(signIn.status).toBe(200);
    expect(await signIn.json()).toEqual({ twoFactorRedirect: true, twoFactorMethods: ["totp"] });
    // The session that had passed the second factor ended with the reset.
    expect(await (await exchange(cookie)).json()).toEqual({
      error: "invalid_grant",
      error_description: "no live session",
    });
  });
});
