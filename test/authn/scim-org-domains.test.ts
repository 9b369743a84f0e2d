// A directory provisions only addresses in its org's verified domains
// (workers/authn/src/scim/org-domains.ts): otherwise an org's SCIM token
// could make an account under anyone's address, wait for its owner to adopt
// it (password reset, verification), then rename the address to one of the
// org's own and reset its way into the owner's account (pre-account
// hijacking).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { apiTo, formTo, tokenFromMail, VERIFYING } from "./email-helpers.ts";
import {
  ownPassword,
  PATCH_SCHEMA,
  provision,
  SCIM_DOMAIN,
  scim,
  scimError,
  scimOrg,
  ssoDomain,
  USER_SCHEMA,
  userBody,
} from "./scim-helpers.ts";

const OUTSIDE = scimError(400, "invalidValue", "the email address is not in a verified domain of this organization");
const PASSWORD = "the owner's own long passphrase";
const NOT_THE_ORGS = scimError(
  400,
  "mutability",
  "the account's current email address is not in a verified domain of this organization: the directory cannot change it",
);

async function accountsWith(email: string) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM user WHERE email = ?").bind(email).first<{ n: number }>();
  return row?.n ?? 0;
}

describe("SCIM and the org's verified domains", { timeout: 60_000 }, () => {
  it("POST of an address outside them is 400 invalidValue and writes no account; a subdomain is inside", async () => {
    const { orgId, owner, token } = await scimOrg();
    const victim = `${crypto.randomUUID()}@gmail.example`;
    for (const body of [userBody(victim), userBody(`ada-${crypto.randomUUID()}`, { emails: [{ value: victim }] })]) {
      const refused = await scim("POST", "/Users", token, body);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toEqual(OUTSIDE);
    }
    expect(await accountsWith(victim)).toBe(0);

    // A domain whose DNS proof is pending is not the org's yet; another org's verified domain never is.
    await ssoDomain(orgId, owner.userId, "pending.example", false);
    const other = await scimOrg();
    await ssoDomain(other.orgId, other.owner.userId, "theirs.example");
    for (const email of [`p-${crypto.randomUUID()}@pending.example`, `t-${crypto.randomUUID()}@theirs.example`]) {
      const refused = await scim("POST", "/Users", token, userBody(email));
      expect(refused.status, email).toBe(400);
      expect(await refused.json(), email).toEqual(OUTSIDE);
    }
    // A look-alike is no subdomain.
    const lookalike = await scim("POST", "/Users", token, userBody(`x-${crypto.randomUUID()}@evil${SCIM_DOMAIN}`));
    expect(lookalike.status).toBe(400);

    const sub = `s-${crypto.randomUUID()}@eu.${SCIM_DOMAIN}`;
    expect((await scim("POST", "/Users", token, userBody(sub))).status).toBe(201);
  });

  it("PUT and PATCH cannot move a person's address out of them: the adopted account stays its owner's", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    // An account with a password of its owner's own, which takes a reset (the
    // address, in the org's verified domain, is stored confirmed:
    // scim/user-store.ts); a directory's own people get none (sso/managed-password.ts).
    await ownPassword(person.id, "an earlier passphrase of theirs");
    await formTo(VERIFYING, "/forgot-password", { email: person.userName });
    const reset = await tokenFromMail(person.userName, "reset-password", VERIFYING);
    expect((await formTo(VERIFYING, "/reset-password", { token: reset, password: PASSWORD })).status).toBe(200);

    const attacker = `${crypto.randomUUID()}@attacker.example`;
    const put = await scim("PUT", `/Users/${person.id}`, token, {
      schemas: [USER_SCHEMA],
      userName: person.userName,
      emails: [{ value: attacker, primary: true }],
    });
    expect(put.status).toBe(400);
    expect(await put.json()).toEqual(OUTSIDE);
    const patched = await scim("PATCH", `/Users/${person.id}`, token, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: "replace", path: 'emails[type eq "work"].value', value: attacker }],
    });
    expect(patched.status).toBe(400);
    expect(await patched.json()).toEqual(OUTSIDE);

    const account = await env.DB.prepare("SELECT email, email_verified AS verified FROM user WHERE id = ?")
      .bind(person.id)
      .first();
    expect(account).toEqual({ email: person.userName.toLowerCase(), verified: 1 });
    // Nothing reached the attacker's address, so no reset can.
    await formTo(VERIFYING, "/forgot-password", { email: attacker });
    await expect(tokenFromMail(attacker, "reset-password", VERIFYING)).rejects.toThrow("no reset-password mail");
    const signIn = await apiTo(VERIFYING, "/sign-in/email", { email: person.userName, password: PASSWORD });
    expect(signIn.status).toBe(200);
  });

  it("PUT and PATCH cannot move an address outside them into them: the person's own account stays theirs", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    await ownPassword(person.id, "an earlier passphrase of theirs");
    await formTo(VERIFYING, "/forgot-password", { email: person.userName });
    const reset = await tokenFromMail(person.userName, "reset-password", VERIFYING);
    expect((await formTo(VERIFYING, "/reset-password", { token: reset, password: PASSWORD })).status).toBe(200);
    // The account's address is now outside the org's domains, confirmed: one
    // a directory provisioned before 58b892d and its owner adopted, or one its
    // person moved to their own address on the account page.
    const own = `${crypto.randomUUID()}@gmail.example`;
    await env.DB.prepare("UPDATE user SET email = ?, email_verified = 1 WHERE id = ?").bind(own, person.id).run();

    // Renamed into the org's domain it was stored unconfirmed, and the org's
    // own mailbox then took a reset that cleared the person's factors.
    const grab = `grab-${crypto.randomUUID()}@${SCIM_DOMAIN}`;
    const put = await scim("PUT", `/Users/${person.id}`, token, {
      schemas: [USER_SCHEMA],
      userName: person.userName,
      emails: [{ value: grab, primary: true }],
    });
    expect(put.status).toBe(400);
    expect(await put.json()).toEqual(NOT_THE_ORGS);
    const patched = await scim("PATCH", `/Users/${person.id}`, token, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: "replace", path: "emails", value: [{ value: grab, primary: true }] }],
    });
    expect(patched.status).toBe(400);
    expect(await patched.json()).toEqual(NOT_THE_ORGS);

    const account = await env.DB.prepare("SELECT email, email_verified AS verified FROM user WHERE id = ?")
      .bind(person.id)
      .first();
    expect(account).toEqual({ email: own, verified: 1 });
    expect(await accountsWith(grab)).toBe(0);
  });
});
