// Deleting an org (Better Auth's `/organization/delete`) records an `org`
// cut-off before the delete and another after it; the second is owed from
// the delete on (D1 `owed_org_cutoff`, written in the delete's own batch:
// revocation/org-deletion.ts). When it cannot be recorded the answer is 503
// with the org deleted and the row left, and the deleter's retry (here:
// answered the deletion's 200) or the token Worker's cron
// (test/token/org-delete-owed-cutoff.test.ts) records it.
//
// No real request fails only the second of two cut-offs of the same org, so
// the state such a 503 leaves is made by the before hook alone (the first
// cut-off and the delete's batch, with no after hook) or by the hook's own
// batch (`deleteOrgOwing`) without the cut-offs around it. The refusal is the
// org's Durable Object's own: it records values of at most 256 characters
// (workers/org-state/src/revocation-recording.ts), and an `org` cut-off's value is the
// org's id, so an org whose id is longer cannot be cut off.
import { env } from "cloudflare:workers";
import { APIError } from "better-auth/api";
import { describe, expect, it } from "vitest";
import {
  deleteOrgOwing,
  orgDeletionHooks,
  settleOrgDeletion,
} from "../../workers/authn/src/revocation/org-deletion.ts";
import { REVOCATION_NOT_RECORDED } from "../../workers/authn/src/revocation/record-or-refuse.ts";
import { inFlightTokenRevoked, unrecordableOrg } from "../support/runtime/owed-cutoffs.ts";
import { api, revocations, signUp } from "./helpers.ts";

async function owedOrgCutoffs(orgId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM owed_org_cutoff WHERE org_id = ?")
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

async function orgExists(orgId: string): Promise<boolean> {
  return (await env.DB.prepare("SELECT 1 FROM organization WHERE id = ?").bind(orgId).first()) !== null;
}

async function expectRefused(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(((await response.json()) as { code: string }).code).toBe(code);
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

/**
 * What a deletion whose second cut-off was not recorded leaves (the delete's
 * batch, its row naming the deleter), without the first cut-off, which would
 * also refuse the in-flight token. The org as the deletion's 200 shows it.
 */
async function deletedOwing(orgId: string, userId: string): Promise<Record<string, unknown>> {
  const organization = await orgAsRead(orgId);
  expect(await deleteOrgOwing(env.DB, orgId, { by: userId, organization })).toBe(true);
  return JSON.parse(JSON.stringify(organization)) as Record<string, unknown>;
}

/** USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION: Better Auth's answer for an org that is gone or was never the caller's. */
const NOT_A_MEMBER = "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION";

describe("an org's deletion", () => {
  it("records its cut-off after the delete and owes nothing once it answers", async () => {
    const owner = await signUp("Closing");
    const deleted = await api("/organization/delete", { organizationId: owner.orgId }, { Cookie: owner.cookie });
    expect(deleted.status).toBe(200);
    expect(((await deleted.json()) as { id: string }).id).toBe(owner.orgId);
    expect(await orgExists(owner.orgId)).toBe(false);
    expect(await revocations(owner.orgId)).toContainEqual(expect.objectContaining({ kind: "org", value: owner.orgId }));
    expect(await inFlightTokenRevoked(owner.orgId)).toBe(true);
    expect(await owedOrgCutoffs(owner.orgId)).toBe(0);
  });

  it("whose first cut-off the org's object refuses deletes nothing and owes nothing: 503", async () => {
    const owner = await signUp("Unrevocable owner");
    const orgId = await unrecordableOrg(owner.userId);
    const refused = await api("/organization/delete", { organizationId: orgId }, { Cookie: owner.cookie });
    await expectRefused(refused, 503, REVOCATION_NOT_RECORDED);
    expect(await orgExists(orgId)).toBe(true);
    expect(await owedOrgCutoffs(orgId)).toBe(0);
  });

  it("two at once: the org goes once, its cut-off is recorded, nothing stays owed", async () => {
    const owner = await signUp("Twice closing");
    const both = await Promise.all(
      [0, 1].map(() => api("/organization/delete", { organizationId: owner.orgId }, { Cookie: owner.cookie })),
    );
    const statuses = both.map((r) => r.status);
    expect(statuses).toContain(200);
    // The second either finds the org gone (Better Auth's 400) or, while the first's row is still
    // owed, is the deleter's own retry (its 200).
    for (const response of both) {
      if (response.status !== 200) await expectRefused(response, 400, NOT_A_MEMBER);
    }
    expect(await orgExists(owner.orgId)).toBe(false);
    expect(await inFlightTokenRevoked(owner.orgId)).toBe(true);
    expect(await owedOrgCutoffs(owner.orgId)).toBe(0);
  });
});

describe("an org's deletion whose second cut-off was not recorded", () => {
  it("the delete's batch owes it exactly once, and not for an org already gone", async () => {
    const owner = await signUp("Batch");
    expect(await deleteOrgOwing(env.DB, owner.orgId)).toBe(true);
    expect(await orgExists(owner.orgId)).toBe(false);
    expect(await owedOrgCutoffs(owner.orgId)).toBe(1);
    // A concurrent deletion's batch after this one deletes nothing, and owes nothing.
    expect(await deleteOrgOwing(env.DB, owner.orgId)).toBe(false);
    expect(await owedOrgCutoffs(owner.orgId)).toBe(1);
  });

  it("Better Auth's before hook owes it by a row that names the deleter and keeps the org it answers", async () => {
    const owner = await signUp("Hooked");
    const organization = await orgAsRead(owner.orgId);
    await orgDeletionHooks(env).beforeDeleteOrganization({
      organization: { ...organization, id: owner.orgId },
      user: { id: owner.userId },
    });
    const row = await env.DB.prepare("SELECT deleted_by, deleted_org FROM owed_org_cutoff WHERE org_id = ?")
      .bind(owner.orgId)
      .first<{ deleted_by: string; deleted_org: string }>();
    expect(row?.deleted_by).toBe(owner.userId);
    expect(JSON.parse(row?.deleted_org ?? "null")).toEqual(JSON.parse(JSON.stringify(organization)));
  });

  it("the after hook's refusal is 503 REVOCATION_NOT_RECORDED and the row stays", async () => {
    const owner = await signUp("After hook");
    const orgId = await unrecordableOrg(owner.userId);
    await deleteOrgOwing(env.DB, orgId);
    const failure = await settleOrgDeletion(env, orgId, owner.userId).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).statusCode).toBe(503);
    expect((failure as APIError).body?.code).toBe(REVOCATION_NOT_RECORDED);
    expect(await owedOrgCutoffs(orgId)).toBe(1);
  });

  it("the deleter's retry records it first and is answered the deletion's 200; the next is Better Auth's 400", async () => {
    const owner = await signUp("Retrying");
    const organization = await deletedOwing(owner.orgId, owner.userId);
    expect(await orgExists(owner.orgId)).toBe(false);
    expect(await owedOrgCutoffs(owner.orgId)).toBe(1);
    expect(await inFlightTokenRevoked(owner.orgId)).toBe(false);

    const retried = await api("/organization/delete", { organizationId: owner.orgId }, { Cookie: owner.cookie });
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual(organization);
    expect(await inFlightTokenRevoked(owner.orgId)).toBe(true);
    expect(await owedOrgCutoffs(owner.orgId)).toBe(0);

    // Nothing is owed any more: the org is simply gone.
    const again = await api("/organization/delete", { organizationId: owner.orgId }, { Cookie: owner.cookie });
    await expectRefused(again, 400, NOT_A_MEMBER);
  });

  it("two retries at once: each is the deletion's 200 or the gone org's 400, the cut-off is recorded once owed", async () => {
    const owner = await signUp("Retrying twice");
    const organization = await deletedOwing(owner.orgId, owner.userId);
    const both = await Promise.all(
      [0, 1].map(() => api("/organization/delete", { organizationId: owner.orgId }, { Cookie: owner.cookie })),
    );
    expect(both.map((r) => r.status)).toContain(200);
    for (const response of both) {
      if (response.status === 200) expect(await response.json()).toEqual(organization);
      else await expectRefused(response, 400, NOT_A_MEMBER);
    }
    expect(await inFlightTokenRevoked(owner.orgId)).toBe(true);
    expect(await owedOrgCutoffs(owner.orgId)).toBe(0);
  });

  it("someone else's request for that org is Better Auth's 400, as for an org that never was, and leaves it owed", async () => {
    const owner = await signUp("Deleted by owner");
    await deletedOwing(owner.orgId, owner.userId);
    const stranger = await signUp("Stranger");

    const forGone = await api("/organization/delete", { organizationId: owner.orgId }, { Cookie: stranger.cookie });
    const forNone = await api(
      "/organization/delete",
      { organizationId: `org-${crypto.randomUUID()}` },
      { Cookie: stranger.cookie },
    );
    // The same answer either way: nothing says that the org had a deletion owing a cut-off.
    expect(forGone.status).toBe(400);
    expect(forNone.status).toBe(400);
    expect(await forGone.json()).toEqual(await forNone.json());
    expect(await owedOrgCutoffs(owner.orgId)).toBe(1);
    expect(await inFlightTokenRevoked(owner.orgId)).toBe(false);
  });

  it("a row that names no deleter (before migration 0032) is the cron's: a retry gets Better Auth's 400", async () => {
    const owner = await signUp("Legacy row");
    await deleteOrgOwing(env.DB, owner.orgId);
    const retried = await api("/organization/delete", { organizationId: owner.orgId }, { Cookie: owner.cookie });
    await expectRefused(retried, 400, NOT_A_MEMBER);
    expect(await owedOrgCutoffs(owner.orgId)).toBe(1);
  });

  it("a retry that still cannot record it is 503 again and keeps the row", async () => {
    const owner = await signUp("Retrying, refused");
    const orgId = await unrecordableOrg(owner.userId);
    // The first cut-off of such an org is refused too, so only the delete's batch makes this state.
    await deleteOrgOwing(env.DB, orgId, { by: owner.userId, organization: await orgAsRead(orgId) });
    const retried = await api("/organization/delete", { organizationId: orgId }, { Cookie: owner.cookie });
    await expectRefused(retried, 503, REVOCATION_NOT_RECORDED);
    expect(await owedOrgCutoffs(orgId)).toBe(1);
  });

  it("a signed-out request is Better Auth's 401 and leaves it to the cron", async () => {
    const owner = await signUp("Signed out");
    await deletedOwing(owner.orgId, owner.userId);
    const anonymous = await api("/organization/delete", { organizationId: owner.orgId });
    // Better Auth's own refusal: a bare 401, no body.
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).toBe("");
    expect(await owedOrgCutoffs(owner.orgId)).toBe(1);
    expect(await inFlightTokenRevoked(owner.orgId)).toBe(false);
  });
});
