// Migration 0015 verifies the addresses a directory provisioned before they
// were stored verified (workers/authn/src/scim/user-store.ts), so those
// people can sign in through their org's SSO too: only in a verified domain
// of the directory's own org, and only for an account never taken up.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signUp } from "./helpers.ts";
import { scimOrg } from "./scim-helpers.ts";
import { registerIdp } from "./sso-idp.ts";

const MIGRATION = "0015_scim_addresses_verified.sql";

/** The migration's statements, as `wrangler d1 migrations apply` runs them. */
async function runMigration() {
  const migration = env.TEST_MIGRATIONS.find((m) => m.name === MIGRATION);
  if (!migration) throw new Error(`${MIGRATION} is not among the migrations`);
  await env.DB.batch(migration.queries.map((query) => env.DB.prepare(query)));
}

/** A person as SCIM stored them before: unverified, a member, a SCIM row. */
async function legacyProvisioned(orgId: string, email: string) {
  const id = crypto.randomUUID();
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO user (id, name, email, email_verified, created_at, updated_at) VALUES (?, 'Ada', ?, 0, ?, ?)",
    ).bind(id, email, now, now),
    env.DB.prepare(
      "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
    ).bind(crypto.randomUUID(), orgId, id, now),
    env.DB.prepare(
      `INSERT INTO scim_user (user_id, org_id, user_name, user_name_key, active, created_at, updated_at)
       VALUES (?, ?, ?, ?, 1, ?, ?)`,
    ).bind(id, orgId, email, email, now, now),
  ]);
  return id;
}

async function verified(userId: string) {
  return (await env.DB.prepare("SELECT email_verified AS v FROM user WHERE id = ?").bind(userId).first<{ v: number }>())
    ?.v;
}

describe("migration 0015: earlier SCIM addresses in the org's verified domains", () => {
  it("verifies an untouched account in the domain or a subdomain, and no other", async () => {
    const { orgId, owner } = await scimOrg();
    const domain = `acme-${crypto.randomUUID().slice(0, 8)}.example`;
    const pendingDomain = `pending-${crypto.randomUUID().slice(0, 8)}.example`;
    await registerIdp(orgId, owner.cookie, `other.example, ${domain}`);
    await registerIdp(orgId, owner.cookie, pendingDomain, false);
    const stranger = await signUp("Other org owner");
    const theirDomain = `theirs-${crypto.randomUUID().slice(0, 8)}.example`;
    await registerIdp(stranger.orgId, stranger.cookie, theirDomain);

    const inDomain = await legacyProvisioned(orgId, `ada@${domain}`);
    const inSubdomain = await legacyProvisioned(orgId, `bea@eu.${domain}`);
    const lookalike = await legacyProvisioned(orgId, `cy@evil${domain}`);
    const pending = await legacyProvisioned(orgId, `di@${pendingDomain}`);
    const anotherOrgs = await legacyProvisioned(orgId, `ed@${theirDomain}`);
    const outside = await legacyProvisioned(orgId, `${crypto.randomUUID()}@gmail.example`);
    // Taken up by its owner (a reset set a password): left as it is.
    const adopted = await legacyProvisioned(orgId, `fay@${domain}`);
    await env.DB.prepare(
      `INSERT INTO account (id, account_id, provider_id, user_id, password, created_at, updated_at)
       VALUES (?, ?, 'credential', ?, 'x', ?, ?)`,
    )
      .bind(crypto.randomUUID(), adopted, adopted, Date.now(), Date.now())
      .run();

    await runMigration();

    expect(await verified(inDomain)).toBe(1);
    expect(await verified(inSubdomain)).toBe(1);
    for (const id of [lookalike, pending, anotherOrgs, outside, adopted]) expect(await verified(id), id).toBe(0);
  });
});
