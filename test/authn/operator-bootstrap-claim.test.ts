// `mono-auth operator bootstrap` onto an address someone already signed up
// with (cli/operator/bootstrap-sql.ts): the unconfirmed account is claimed
// first, so the operator role never comes with its creator's password,
// passkey or session (pre-account hijacking). The SQL is applied to the
// authn Worker's D1 as `wrangler d1 execute` applies it; the CLI end to end
// is test/e2e/cli-*.test.ts.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { operatorBootstrapStatements } from "../../cli/operator/bootstrap-sql.ts";
import { apiTo, formTo, getFrom, tokenFromMail, VERIFYING } from "./email-helpers.ts";
import { api, cookiesFrom, get, PASSWORD, signUp, uniqueEmail } from "./helpers.ts";
import { oidc } from "./oidc-helpers.ts";
import { assertion, registerSoftPasskey } from "./webauthn-assertion.ts";

const SQUATTERS_PASSWORD = "the squatter chose this passphrase";
const OPERATORS_PASSWORD = "the operator's own long passphrase";

async function bootstrap(email: string) {
  for (const sql of operatorBootstrapStatements({
    email,
    userId: crypto.randomUUID().replaceAll("-", ""),
    clientId: `mc_${crypto.randomUUID()}`,
    secretHash: "not-used-here",
    audience: `${env.ISSUER}/admin`,
    now: Date.now(),
  })) {
    await env.DB.prepare(sql).run();
  }
}

async function signIn(email: string, password: string) {
  return apiTo(VERIFYING, "/sign-in/email", { email, password });
}

describe("operator bootstrap onto an existing account", { timeout: 60_000 }, () => {
  it("claims an unconfirmed one: its creator's password no longer signs in once the operator confirms the address", async () => {
    const email = uniqueEmail();
    expect(
      (await formTo(VERIFYING, "/sign-up", { name: "Squatter", email, password: SQUATTERS_PASSWORD })).status,
    ).toBe(303);
    await bootstrap(email);
    // The operator confirms the address, as the sign-up's mail asks them to.
    const confirm = await tokenFromMail(email, "verify-email", VERIFYING);
    expect((await formTo(VERIFYING, "/verify-email", { token: confirm })).status).toBe(200);

    const squatter = await signIn(email, SQUATTERS_PASSWORD);
    expect(squatter.status).toBe(401);
    expect(((await squatter.json()) as { code: string }).code).toBe("INVALID_EMAIL_OR_PASSWORD");

    // The operator sets their own password and reaches the console.
    await formTo(VERIFYING, "/forgot-password", { email });
    const reset = await tokenFromMail(email, "reset-password", VERIFYING);
    expect((await formTo(VERIFYING, "/reset-password", { token: reset, password: OPERATORS_PASSWORD })).status).toBe(
      200,
    );
    const operator = await signIn(email, OPERATORS_PASSWORD);
    expect(operator.status).toBe(200);
    expect((await getFrom(VERIFYING, "/console", { Cookie: cookiesFrom(operator) })).status).toBe(200);
  });

  it("ends an unconfirmed account's sessions and removes its passkeys", async () => {
    const squatter = await signUp("Squatter"); // a local run: a session before confirmation
    const credential = await registerSoftPasskey(squatter.userId);
    await bootstrap(squatter.email);

    const left = await env.DB.prepare("SELECT count(*) AS n FROM session WHERE user_id = ?")
      .bind(squatter.userId)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
    const options = await get("/api/auth/passkey/generate-authenticate-options");
    const { challenge } = (await options.json()) as { challenge: string };
    const byPasskey = await api(
      "/passkey/verify-authentication",
      { response: await assertion(credential, challenge, true) },
      { Cookie: cookiesFrom(options) },
    );
    expect(byPasskey.status).toBe(401);
    expect(((await byPasskey.json()) as { code: string }).code).toBe("PASSKEY_NOT_FOUND");
  });

  it("removes an unconfirmed account's OAuth consents, so its creator's client asks the operator again", async () => {
    const { person: squatter } = await oidc.issuedTokens();
    await bootstrap(squatter.email);

    const consents = await env.DB.prepare("SELECT count(*) AS n FROM oidc_consent WHERE user_id = ?")
      .bind(squatter.userId)
      .first<{ n: number }>();
    expect(consents?.n).toBe(0);
  });

  it("keeps a confirmed account as it is, e.g. the operator's own on a second run", async () => {
    const person = await signUp("Operator");
    await env.DB.prepare("UPDATE user SET email_verified = 1 WHERE id = ?").bind(person.userId).run();
    await bootstrap(person.email);
    const again = await signIn(person.email, PASSWORD);
    expect(again.status).toBe(200);
    expect((await getFrom(VERIFYING, "/console", { Cookie: cookiesFrom(again) })).status).toBe(200);
  });
});
