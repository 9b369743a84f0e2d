// Two owners deleting the same org at once (Better Auth's
// `/organization/delete`, revocation/org-deletion.ts): whichever batch
// deletes the org, each deletion owes the `org` cut-off after it by a row
// naming its own deleter (oweOrgCutoff), so each owner is answered for their
// own deletion — 200, or 503 and then their retry's 200 — never Better Auth's
// 400 "not a member" for an org their own request found and was allowed to
// delete. Nobody else's request learns from those rows that the org was
// deleted. And a retry answered from the row unsets the gone org as the
// session's active one, which Better Auth does only after its own delete.
//
// As in org-delete-owed-cutoff.test.ts, the state a 503 leaves (the delete's
// batch, no after hook) is made by the hook's own batch (`deleteOrgOwing`),
// without the first cut-off, which would also refuse the in-flight token.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deleteOrgOwing, settleOrgDeletion } from "../../workers/authn/src/revocation/org-deletion.ts";
import { inFlightTokenRevoked } from "../support/runtime/owed-cutoffs.ts";
import { api, signUp } from "./helpers.ts";

/** USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION: Better Auth's answer for an org that is gone or was never the caller's. */
const NOT_A_MEMBER = "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION";

type Person = Awaited<ReturnType<typeof signUp>>;

async function owedBy(orgId: string): Promise<(string | null)[]> {
  const rows = await env.DB.prepare("SELECT deleted_by FROM owed_org_cutoff WHERE org_id = ? ORDER BY deleted_by")
    .bind(orgId)
    .all<{ deleted_by: string | null }>();
  return rows.results.map((row) => row.deleted_by);
}

async function orgExists(orgId: string): Promise<boolean> {
  return (await env.DB.prepare("SELECT 1 FROM organization WHERE id = ?").bind(orgId).first()) !== null;
}

async function activeOrg(sessionId: string): Promise<string | null> {
  const row = await env.DB.prepare("SELECT active_organization_id AS orgId FROM session WHERE id = ?")
    .bind(sessionId)
    .first<{ orgId: string | null }>();
  return row?.orgId ?? null;
}

async function setActiveOrg(sessionId: string, orgId: string): Promise<void> {
  await env.DB.prepare("UPDATE session SET active_organization_id = ? WHERE id = ?").bind(orgId, sessionId).run();
}

/** `person` joins `orgId` with `role` (as an accepted invitation would make them). */
async function join(orgId: string, person: Person, role: string): Promise<void> {
  await env.DB.prepare("INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, ?, ?)")
    .bind(crypto.randomUUID(), orgId, person.userId, role, Date.now())
    .run();
}

/** The org as Better Auth reads it for its deletion (and answers it), from D1. */
async function orgAsRead(orgId: string): Promise<Record<string, unknown>> {
  const row = await env.DB.prepare(
    "SELECT id, name, slug, logo, created_at AS createdAt FROM organization WHERE id = ?",
  )
    .bind(orgId)
    .first<Record<string, unknown>>();
  if (!row) throw new Error(`no org ${orgId}`);
  return { ...row, createdAt: new Date(row.createdAt as number) };
}

function deleteOrg(orgId: string, person: Person): Promise<Response> {
  return api("/organization/delete", { organizationId: orgId }, { Cookie: person.cookie });
}

async function expectRefused(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(((await response.json()) as { code: string }).code).toBe(code);
}

/** An org of `first`'s with `second` a second owner, the active org of both sessions. */
async function twoOwners(name: string) {
  const a = await signUp(`${name} A`);
  const b = await signUp(`${name} B`);
  await join(a.orgId, b, "owner");
  await setActiveOrg(b.sessionId, a.orgId);
  return { orgId: a.orgId, a, b };
}

/**
 * Both owners' deletions as far as their batches, A's first: Better Auth read
 * the org and both memberships before either batch, so B's batch finds the
 * org gone. Neither after hook ran (each answered 503). The org as each read it.
 */
async function bothBatches(orgId: string, a: Person, b: Person): Promise<Record<string, unknown>> {
  const organization = await orgAsRead(orgId);
  expect(await deleteOrgOwing(env.DB, orgId, { by: a.userId, organization })).toBe(true);
  expect(await deleteOrgOwing(env.DB, orgId, { by: b.userId, organization })).toBe(false);
  return JSON.parse(JSON.stringify(organization)) as Record<string, unknown>;
}

describe("two owners deleting the same org at once", () => {
  it("fired at once: each is the deletion's 200 (or, asked after the org went, the gone org's 400); nothing stays owed", async () => {
    const { orgId, a, b } = await twoOwners("Racing");
    const [byA, byB] = await Promise.all([deleteOrg(orgId, a), deleteOrg(orgId, b)]);
    const answers = [byA, byB] as Response[];
    expect(answers.map((r) => r.status)).toContain(200);
    for (const response of answers) {
      // 400 only for a request whose membership Better Auth read after the other's delete had landed.
      if (response.status === 200) expect(await response.json()).toMatchObject({ id: orgId });
      else await expectRefused(response, 400, NOT_A_MEMBER);
    }
    expect(await orgExists(orgId)).toBe(false);
    expect(await inFlightTokenRevoked(orgId)).toBe(true);
    expect(await owedBy(orgId)).toEqual([]);
    expect(await activeOrg(a.sessionId)).toBeNull();
    expect(await activeOrg(b.sessionId)).toBeNull();
  });

  it("the second batch finds the org gone and still owes a row of its own deleter's", async () => {
    const { orgId, a, b } = await twoOwners("Both owing");
    await bothBatches(orgId, a, b);
    expect(await orgExists(orgId)).toBe(false);
    expect(await owedBy(orgId)).toEqual([a.userId, b.userId].sort());
    // A legacy batch (no deleter named) still owes nothing for an org already gone.
    expect(await deleteOrgOwing(env.DB, orgId)).toBe(false);
    expect(await owedBy(orgId)).toHaveLength(2);
  });

  it("the owner whose batch deleted nothing: its retry after a 503 is the deletion's 200, not Better Auth's 400", async () => {
    const { orgId, a, b } = await twoOwners("Second owner retries");
    const organization = await bothBatches(orgId, a, b);
    expect(await inFlightTokenRevoked(orgId)).toBe(false);

    const retriedByB = await deleteOrg(orgId, b);
    expect(retriedByB.status).toBe(200);
    expect(await retriedByB.json()).toEqual(organization);
    expect(await inFlightTokenRevoked(orgId)).toBe(true);
    // A's row is A's retry's answer: it stays although the cut-off covers it.
    expect(await owedBy(orgId)).toEqual([a.userId]);
    expect(await activeOrg(b.sessionId)).toBeNull();

    const retriedByA = await deleteOrg(orgId, a);
    expect(retriedByA.status).toBe(200);
    expect(await retriedByA.json()).toEqual(organization);
    expect(await owedBy(orgId)).toEqual([]);

    // Nothing owed any more: the org is simply gone, for both.
    await expectRefused(await deleteOrg(orgId, a), 400, NOT_A_MEMBER);
    await expectRefused(await deleteOrg(orgId, b), 400, NOT_A_MEMBER);
  });

  it("one owner's after hook records the cut-off and clears only that owner's row; the other's retry is still 200", async () => {
    const { orgId, a, b } = await twoOwners("After hook of one");
    const organization = await bothBatches(orgId, a, b);
    await settleOrgDeletion(env, orgId, b.userId);
    expect(await inFlightTokenRevoked(orgId)).toBe(true);
    expect(await owedBy(orgId)).toEqual([a.userId]);

    const retriedByA = await deleteOrg(orgId, a);
    expect(retriedByA.status).toBe(200);
    expect(await retriedByA.json()).toEqual(organization);
    expect(await owedBy(orgId)).toEqual([]);
  });

  it("a member who did not delete it, and a stranger, get the answer for an org that never was, and leave both rows", async () => {
    const { orgId, a, b } = await twoOwners("Bystanders");
    const bystander = await signUp("Member bystander");
    await join(orgId, bystander, "member");
    // While the org stands, the member may not delete it: Better Auth refuses before our hook, which owes nothing.
    await expectRefused(await deleteOrg(orgId, bystander), 403, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION");
    expect(await owedBy(orgId)).toEqual([]);

    await bothBatches(orgId, a, b);
    const stranger = await signUp("Stranger");
    const never = `org-${crypto.randomUUID()}`;
    for (const person of [bystander, stranger]) {
      const forGone = await deleteOrg(orgId, person);
      const forNone = await deleteOrg(never, person);
      expect(forGone.status).toBe(400);
      expect(forNone.status).toBe(400);
      expect(await forGone.json()).toEqual(await forNone.json());
    }
    expect(await owedBy(orgId)).toEqual([a.userId, b.userId].sort());
    expect(await inFlightTokenRevoked(orgId)).toBe(false);
  });
});

describe("a deleter's retry answered from its row", () => {
  it("unsets the gone org as the session's active one, which a set-active racing the failed first request left set", async () => {
    const owner = await signUp("Active org");
    expect(await activeOrg(owner.sessionId)).toBe(owner.orgId);
    const organization = await orgAsRead(owner.orgId);
    // The batch ran, unsetting the org as every session's active one; then Better Auth failed before its after hook.
    await deleteOrgOwing(env.DB, owner.orgId, { by: owner.userId, organization });
    expect(await activeOrg(owner.sessionId)).toBeNull();
    // A set-active of the session that read the membership before the batch writes the org back after it.
    await setActiveOrg(owner.sessionId, owner.orgId);

    const retried = await deleteOrg(owner.orgId, owner);
    expect(retried.status).toBe(200);
    expect(await activeOrg(owner.sessionId)).toBeNull();
  });

  it("leaves another active org of the session alone", async () => {
    const owner = await signUp("Other active org");
    const other = await signUp("Owner of another");
    await join(other.orgId, owner, "member");
    await setActiveOrg(owner.sessionId, other.orgId);
    await deleteOrgOwing(env.DB, owner.orgId, { by: owner.userId, organization: await orgAsRead(owner.orgId) });

    const retried = await deleteOrg(owner.orgId, owner);
    expect(retried.status).toBe(200);
    expect(await activeOrg(owner.sessionId)).toBe(other.orgId);
  });
});
