import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { apiTo, envWith, formTo, linksIn, mailTo } from "./email-helpers.ts";
import { PASSWORD, signUp, uniqueEmail } from "./helpers.ts";

/**
 * A directory- or SSO-managed account (no `credential` account; a SCIM row
 * or an account linked by an org's SSO provider) gets no password by reset
 * (workers/authn/src/sso/managed-password.ts): the request answers as for
 * anyone, mails the SSO sign-in page instead of a link, and a token issued
 * before the rule is refused 403 PASSWORD_MANAGED_BY_SSO.
 */
const LOCAL = envWith({});
const NEW_PASSWORD = "a brand new passphrase for reset";
const strip = (html: string) => html.replace(/nonce="[^"]+"/g, "");

type Person = Awaited<ReturnType<typeof signUp>>;

async function dropPassword(person: Person): Promise<void> {
  await env.DB.prepare("DELETE FROM account WHERE user_id = ? AND provider_id = 'credential'")
    .bind(person.userId)
    .run();
}

/**
 * What the SSO plugin leaves when an org's IdP creates or links the person.
 * The provider's verified domain is its own: a verified `example.com` would
 * claim every domain the other files of this runtime register under it.
 */
async function linkSso(person: Person): Promise<void> {
  const providerId = `idp-${crypto.randomUUID()}`;
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO sso_provider (id, issuer, user_id, provider_id, organization_id, domain, domain_verified)
       VALUES (?, 'https://idp.example.com', ?, ?, ?, ?, 1)`,
    ).bind(crypto.randomUUID(), person.userId, providerId, person.orgId, `${providerId}.example.com`),
    env.DB.prepare(
      `INSERT INTO account (id, account_id, provider_id, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
    ).bind(crypto.randomUUID(), `sub-${person.userId}`, providerId, person.userId, now, now),
  ]);
}

/** What SCIM provisioning leaves: the directory's row over the user. */
async function provision(person: Person): Promise<void> {
  const now = Date.now();
  await env.DB.prepare(
    `INSERT INTO scim_user (user_id, org_id, user_name, user_name_key, active, created_at, updated_at)
     VALUES (?, ?, ?, ?, 1, ?, ?)`,
  )
    .bind(person.userId, person.orgId, person.email, person.email.toLowerCase(), now, now)
    .run();
}

async function emailOf(person: Person): Promise<string> {
  const row = await env.DB.prepare("SELECT email FROM user WHERE id = ?")
    .bind(person.userId)
    .first<{ email: string }>();
  return row?.email ?? "";
}

async function resetTokensOf(userId: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM verification WHERE value = ? AND identifier LIKE 'reset-password:%'",
  )
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function credentialAccounts(userId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM account WHERE user_id = ? AND provider_id = 'credential'")
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** A reset token as Better Auth writes one (a link mailed before this rule existed). */
async function preIssuedToken(userId: string): Promise<string> {
  const token = crypto.randomUUID().replaceAll("-", "");
  const now = Date.now();
  await env.DB.prepare(
    "INSERT INTO verification (id, identifier, value, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
  )
    .bind(crypto.randomUUID(), `reset-password:${token}`, userId, now + 10 * 60_000, now, now)
    .run();
  return token;
}

describe("password reset of a directory- or SSO-managed account", { timeout: 60_000 }, () => {
  it("answers exactly as for a normal and an unknown address, mails no reset link, and keeps no token", async () => {
    const normal = await signUp("Normal");
    const sso = await signUp("Federated");
    await dropPassword(sso);
    await linkSso(sso);
    const scim = await signUp("Provisioned");
    await dropPassword(scim);
    await provision(scim);

    const addresses = [await emailOf(normal), await emailOf(sso), await emailOf(scim), uniqueEmail()];
    const answers = await Promise.all(addresses.map((email) => apiTo(LOCAL, "/request-password-reset", { email })));
    const bodies = await Promise.all(answers.map((answer) => answer.text()));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0] ?? "")).toEqual({
      status: true,
      message: "If this email exists in our system, check your email for the reset link",
    });

    // The page too: same status and page, the address aside.
    const pages = await Promise.all(addresses.map((email) => formTo(LOCAL, "/forgot-password", { email })));
    expect(pages.map((page) => page.status)).toEqual([200, 200, 200, 200]);
    const texts = await Promise.all(
      pages.map(async (page, i) => strip(await page.text()).replaceAll(addresses[i] ?? "", "E")),
    );
    expect(new Set(texts).size).toBe(1);

    // The API's mail may still be on its way (sent after the answer): wait for both of each.
    const mailOf = async (email: string, kind: string) => (await mailTo(email)).filter((m) => m.kind === kind);
    await expect.poll(async () => (await mailOf(addresses[0] ?? "", "reset-password")).length).toBe(2);
    expect(await resetTokensOf(normal.userId)).toBe(2);
    for (const person of [sso, scim]) {
      const email = await emailOf(person);
      await expect.poll(async () => (await mailOf(email, "sso-sign-in")).length).toBe(2);
      const [told] = await mailOf(email, "sso-sign-in");
      expect(linksIn(told!)).toEqual([`${new URL(env.ISSUER).origin}/sign-in`]);
      expect(await mailOf(email, "reset-password")).toHaveLength(0);
      expect(await resetTokensOf(person.userId)).toBe(0);
    }
  });

  it("refuses a token issued before the rule: 403 PASSWORD_MANAGED_BY_SSO, no password, token spent, sessions kept", async () => {
    for (const make of [linkSso, provision]) {
      const person = await signUp("Managed");
      await dropPassword(person);
      await make(person);
      const token = await preIssuedToken(person.userId);

      const reset = await apiTo(LOCAL, "/reset-password", { token, newPassword: NEW_PASSWORD });
      expect(reset.status).toBe(403);
      expect(((await reset.json()) as { code: string }).code).toBe("PASSWORD_MANAGED_BY_SSO");
      expect(await credentialAccounts(person.userId)).toBe(0);
      expect(await resetTokensOf(person.userId)).toBe(0);
      const sessions = await env.DB.prepare("SELECT COUNT(*) AS n FROM session WHERE user_id = ?")
        .bind(person.userId)
        .first<{ n: number }>();
      expect(sessions?.n).toBe(1);

      const again = await apiTo(LOCAL, "/reset-password", { token, newPassword: NEW_PASSWORD });
      expect(again.status).toBe(400);
      expect(((await again.json()) as { code: string }).code).toBe("INVALID_TOKEN");
      const signIn = await apiTo(LOCAL, "/sign-in/email", { email: await emailOf(person), password: NEW_PASSWORD });
      expect(signIn.status).toBe(401);
    }
  });

  it("the /reset-password page shows such a token the SSO hint (403), an unknown or spent one the bad-link page (400)", async () => {
    const person = await signUp("Managed On The Page");
    await dropPassword(person);
    await linkSso(person);
    const token = await preIssuedToken(person.userId);

    const page = await formTo(LOCAL, "/reset-password", { token, password: NEW_PASSWORD });
    expect(page.status).toBe(403);
    const html = await page.text();
    expect(html).toContain('data-testid="sso-managed"');
    expect(html).toContain("your organization signs you in with single sign-on (SSO)");
    expect(html).not.toContain("This reset link is invalid, used or expired.");
    expect(await credentialAccounts(person.userId)).toBe(0);

    // The token is spent, and a token nobody issued: the generic page, no hint.
    for (const bad of [token, crypto.randomUUID().replaceAll("-", "")]) {
      const refused = await formTo(LOCAL, "/reset-password", { token: bad, password: NEW_PASSWORD });
      expect(refused.status).toBe(400);
      const text = await refused.text();
      expect(text).toContain("This reset link is invalid, used or expired.");
      expect(text).not.toContain("sso-managed");
      expect(text).not.toContain("single sign-on");
    }
  });

  it("an account with its own password that later linked SSO keeps its password and its reset", async () => {
    const person = await signUp("Password First");
    await linkSso(person);
    const email = await emailOf(person);
    await apiTo(LOCAL, "/request-password-reset", { email });
    await expect.poll(async () => (await mailTo(email)).filter((m) => m.kind === "reset-password").length).toBe(1);
    const mail = (await mailTo(email)).filter((m) => m.kind === "reset-password");
    const token = new URL(linksIn(mail[0]!)[0] ?? "").searchParams.get("token") ?? "";
    const reset = await apiTo(LOCAL, "/reset-password", { token, newPassword: NEW_PASSWORD });
    expect(reset.status).toBe(200);
    expect((await apiTo(LOCAL, "/sign-in/email", { email, password: NEW_PASSWORD })).status).toBe(200);
    expect((await apiTo(LOCAL, "/sign-in/email", { email, password: PASSWORD })).status).toBe(401);
  });
});
