// A directory renaming a person (a new address by PUT or PATCH, inside the
// org's verified domains) leaves the account as verified as it was
// (workers/authn/src/scim/user-store.ts updateUser). Stored unverified, the
// renamed account counted as unconfirmed, and its person's next password
// reset cleared their own passkeys, second factor and API keys
// (security/unproven-account-reset.ts). A rename outside the domains stays
// refused (scim-org-domains.test.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { formTo, tokenFromMail, VERIFYING } from "./email-helpers.ts";
import {
  ownPassword,
  PATCH_SCHEMA,
  provision,
  SCIM_DOMAIN,
  scim,
  scimOrg,
  startSession,
  USER_SCHEMA,
} from "./scim-helpers.ts";
import { landing, registerIdp, signInThroughIdp } from "./sso-idp.ts";

const PASSWORD = "the person's own long passphrase";

async function stored(userId: string) {
  return env.DB.prepare("SELECT email, email_verified AS verified FROM user WHERE id = ?").bind(userId).first();
}

async function count(table: "account" | "passkey" | "session", userId: string) {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE user_id = ?`)
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** A passkey as the person's own registration stores it (the WebAuthn ceremony is test/authn/unproven-account-reset.test.ts's). */
async function ownPasskey(userId: string) {
  await env.DB.prepare(
    `INSERT INTO passkey (id, name, public_key, user_id, credential_id, counter, device_type, backed_up, created_at)
     VALUES (?, 'laptop', 'pk', ?, ?, 0, 'singleDevice', 0, ?)`,
  )
    .bind(crypto.randomUUID(), userId, crypto.randomUUID(), Date.now())
    .run();
}

describe("SCIM renames inside the org's verified domains", { timeout: 60_000 }, () => {
  it("PUT and PATCH keep the address verified, the person's sessions, and their passkey through a reset", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    await ownPasskey(person.id);
    // A password of their own, so the reset below is theirs to make (sso/managed-password.ts).
    await ownPassword(person.id, "an earlier passphrase of theirs");
    await startSession(person.id);

    const renamed = `renamed-${crypto.randomUUID()}@${SCIM_DOMAIN}`;
    const put = await scim("PUT", `/Users/${person.id}`, token, {
      schemas: [USER_SCHEMA],
      userName: renamed,
      emails: [{ value: renamed, primary: true, type: "work" }],
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ userName: renamed, emails: [{ value: renamed }] });
    expect(await stored(person.id)).toEqual({ email: renamed, verified: 1 });

    // Entra ID's form, into a subdomain of the verified one.
    const moved = `moved-${crypto.randomUUID()}@eu.${SCIM_DOMAIN}`;
    const patch = await scim("PATCH", `/Users/${person.id}`, token, {
      schemas: [PATCH_SCHEMA],
      Operations: [
        { op: "Replace", path: "userName", value: moved },
        { op: "Replace", path: 'emails[type eq "work"].value', value: moved },
      ],
    });
    expect(patch.status).toBe(200);
    expect(await stored(person.id)).toEqual({ email: moved, verified: 1 });
    // Same person, new address: the directory ends access with `active`, not with a rename.
    expect(await count("session", person.id)).toBe(1);

    await formTo(VERIFYING, "/forgot-password", { email: moved });
    const reset = await tokenFromMail(moved, "reset-password", VERIFYING);
    expect((await formTo(VERIFYING, "/reset-password", { token: reset, password: PASSWORD })).status).toBe(200);
    // A confirmed account's reset keeps its factors.
    expect(await count("passkey", person.id)).toBe(1);
    expect(await stored(person.id)).toEqual({ email: moved, verified: 1 });
  });

  it("a rename does not verify an account that was not: one its owner adopted before the domain rule stays so", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    // As migration 0015 left an adopted account provisioned before addresses were stored verified.
    await env.DB.prepare("UPDATE user SET email_verified = 0 WHERE id = ?").bind(person.id).run();

    const renamed = `renamed-${crypto.randomUUID()}@${SCIM_DOMAIN}`;
    const put = await scim("PUT", `/Users/${person.id}`, token, {
      schemas: [USER_SCHEMA],
      userName: person.userName,
      emails: [{ value: renamed, primary: true }],
    });
    expect(put.status).toBe(200);
    expect(await stored(person.id)).toEqual({ email: renamed, verified: 0 });
  });

  it("the org's SSO lands the renamed person in their account: first sign-in after a rename links, the next finds it", async () => {
    const { orgId, owner, token } = await scimOrg();
    const domain = `acme-${crypto.randomUUID().slice(0, 8)}.example`;
    const providerId = await registerIdp(orgId, owner.cookie, domain);
    const person = await provision(token, `alice@${domain}`);

    // Stored unverified, this first sign-in was refused: `account not linked`.
    const renamed = `alice.lovelace@${domain}`;
    const patch = await scim("PATCH", `/Users/${person.id}`, token, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: "replace", path: "emails", value: [{ value: renamed, primary: true }] }],
    });
    expect(patch.status).toBe(200);
    const first = await signInThroughIdp(providerId, { sub: "alice-at-idp", email: renamed });
    expect(landing(first)).toEqual({ path: "/app", error: null });
    expect(await count("account", person.id)).toBe(1);

    // The link is the IdP's subject: a second rename keeps it, and makes no second account.
    const again = `ada@${domain}`;
    const put = await scim("PUT", `/Users/${person.id}`, token, {
      schemas: [USER_SCHEMA],
      userName: again,
      emails: [{ value: again, primary: true }],
    });
    expect(put.status).toBe(200);
    const second = await signInThroughIdp(providerId, { sub: "alice-at-idp", email: again });
    expect(landing(second)).toEqual({ path: "/app", error: null });
    expect(await count("account", person.id)).toBe(1);
    expect(await count("session", person.id)).toBe(2);
    expect(await stored(person.id)).toEqual({ email: again, verified: 1 });
  });
});
