// An org's deletion owes its second `org` cut-off from the delete on (D1
// `owed_org_cutoff`, written in the delete's own batch by the authn Worker's
// hook: workers/authn/src/revocation/org-deletion.ts, tested with its retry in
// test/authn/org-delete-owed-cutoff.test.ts). When the deletion answered 503
// with the org gone, no retry may ever come: the cron records it
// (admin/owed-org-cutoffs.ts), and tokens minted while the delete was in
// flight are refused from then on.
//
// The state such a 503 leaves is written here as the hook's batch writes
// it, from the same statement (shared/revocation/owed-org-cutoffs.ts); the
// deletion itself runs through the authn Worker beside this one. The
// refusal is the org's Durable Object's own: it records values of at most
// 256 characters (workers/org-state/src/revocation-recording.ts), and an `org`
// cut-off's value is the org's id.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { oweOrgCutoff, owedOrgCutoff } from "../../shared/revocation/owed-org-cutoffs.ts";
import { inFlightTokenRevoked, unrecordableOrg } from "../support/runtime/owed-cutoffs.ts";
import { cronReaching } from "./cron-fixture.ts";
import { seedSession } from "./fixtures.ts";
import { deleteOrg, oidc } from "./oidc-fixture.ts";

/** What a deletion leaves when its second cut-off was not recorded: the org gone, its cut-off owed. */
async function leftOwed(orgId: string): Promise<void> {
  await env.DB.batch([
    env.DB.prepare("DELETE FROM member WHERE organization_id = ?").bind(orgId),
    env.DB.prepare("DELETE FROM invitation WHERE organization_id = ?").bind(orgId),
    env.DB.prepare("DELETE FROM organization WHERE id = ?").bind(orgId),
    oweOrgCutoff(env.DB, owedOrgCutoff(orgId, "org-deleted")),
  ]);
}

/**
 * The org's owed row, for cronReaching: a cron run takes only the oldest
 * rows, and the files before this one in its runtime may leave older ones.
 */
async function owedRow(orgId: string): Promise<{ id: string; created_at: number }> {
  const row = await env.DB.prepare("SELECT id, created_at FROM owed_org_cutoff WHERE org_id = ?")
    .bind(orgId)
    .first<{ id: string; created_at: number }>();
  if (!row) throw new Error(`no owed row for ${orgId}`);
  return row;
}

async function owedOrgs(): Promise<string[]> {
  const rows = await env.DB.prepare("SELECT org_id FROM owed_org_cutoff ORDER BY created_at").all<{ org_id: string }>();
  return rows.results.map((r) => r.org_id);
}

describe("the cron trigger and an owed org cut-off", () => {
  it("records it when no retry comes, clears the row, and tokens minted in flight are refused", async () => {
    const { orgId } = await seedSession({ role: "owner" });
    await leftOwed(orgId);
    expect(await inFlightTokenRevoked(orgId)).toBe(false);
    const owed = await owedRow(orgId);
    await cronReaching(owed);
    expect(await inFlightTokenRevoked(orgId, undefined, owed.created_at)).toBe(true);
    expect(await owedOrgs()).not.toContain(orgId);
  });

  it("keeps the row while the org's object refuses it, and records it on a later run", async () => {
    const unrecordable = await unrecordableOrg();
    await leftOwed(unrecordable);
    await cronReaching(await owedRow(unrecordable));
    expect(await owedOrgs()).toContain(unrecordable);

    // The id renamed to one the object records: the next run settles it.
    const recordable = `org-${crypto.randomUUID()}`;
    await env.DB.prepare("UPDATE owed_org_cutoff SET org_id = ? WHERE org_id = ?").bind(recordable, unrecordable).run();
    // Read again: the refusal sent the row to the back (its created_at is the run's).
    const owed = await owedRow(recordable);
    await cronReaching(owed);
    expect(await owedOrgs()).not.toContain(recordable);
    expect(await inFlightTokenRevoked(recordable, undefined, owed.created_at)).toBe(true);
  });

  it("a run's refusals go to the back: 50 refused rows do not keep an older org's waiting", async () => {
    const refused = await Promise.all(Array.from({ length: 50 }, () => unrecordableOrg()));
    for (const orgId of refused) await leftOwed(orgId);
    // Owed after the 50, so the first run's 50 slots are theirs.
    const { orgId: waiting } = await seedSession({ role: "owner" });
    await leftOwed(waiting);
    try {
      // Without the 50 sent back, no number of runs would reach it. Their 50
      // and any older rows left by earlier files are what the runs must pass.
      // Minted when the org was deleted: the runs' 100 calls to org objects may take seconds.
      const owed = await owedRow(waiting);
      await cronReaching(owed);
      expect(await inFlightTokenRevoked(waiting, undefined, owed.created_at)).toBe(true);
      expect(await owedOrgs()).not.toContain(waiting);
      expect((await owedOrgs()).filter((orgId) => refused.includes(orgId))).toHaveLength(50);
    } finally {
      // The files after this one share its runtime: 50 rows the object always
      // refuses would take every slot of a single cron run there.
      await env.DB.batch(
        refused.map((orgId) => env.DB.prepare("DELETE FROM owed_org_cutoff WHERE org_id = ?").bind(orgId)),
      );
    }
  });

  it("finds nothing owed after a deletion that answered 200 through the authn Worker", async () => {
    const owner = await oidc.signUp("Closing owner");
    const deleted = await deleteOrg(owner.cookie, owner.orgId);
    expect(deleted.status).toBe(200);
    expect(await owedOrgs()).not.toContain(owner.orgId);
    expect(await inFlightTokenRevoked(owner.orgId)).toBe(true);
  });
});
