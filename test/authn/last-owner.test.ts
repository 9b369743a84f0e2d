// An organization keeps an owner under concurrency: Better Auth counts the
// owners and then writes, so two changes that each saw another owner both
// went through and left the org with none (only an owner can make one).
// Leaving counts and deletes with no organization hook between, so a leaving
// owner steps down first through the same conditional write.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { owedMemberCutoff } from "../../shared/revocation/owed-member-cutoffs.ts";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import { changeRoleKeepingAnOwner, removeKeepingAnOwner } from "../../workers/authn/src/auth/last-owner.ts";
import { api, owedCutoffs, signUp } from "./helpers.ts";

/** An org with two owners: its creator and a second one. */
async function twoOwners() {
  const first = await signUp("First Owner");
  const second = await signUp("Second Owner");
  const added = (await getAuth(env).api.addMember({
    body: { userId: second.userId, organizationId: first.orgId, role: "owner" },
  })) as { id: string };
  const own = await env.DB.prepare("SELECT id FROM member WHERE organization_id = ? AND user_id = ?")
    .bind(first.orgId, first.userId)
    .first<{ id: string }>();
  return { first, second, firstMemberId: own?.id ?? "", secondMemberId: added.id, orgId: first.orgId };
}

async function owners(orgId: string): Promise<number> {
  const rows = await env.DB.prepare("SELECT role FROM member WHERE organization_id = ?")
    .bind(orgId)
    .all<{ role: string }>();
  return rows.results.filter((row) => row.role.split(",").some((role) => role.trim() === "owner")).length;
}

/** Better Auth's answer to a refused change: its status and code. */
interface Refusal {
  status: number;
  code: string;
}

const WITHOUT_AN_OWNER: Refusal = { status: 400, code: "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER" };
const ONLY_OWNER: Refusal = { status: 400, code: "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER" };

/**
 * Exactly one of two racing changes went through; the other is refused with one of the answers `refusals`
 * lists for it (the same index as its request): which request loses, and what it had read before the
 * winner wrote, is the scheduler's to decide.
 */
async function oneRefused(answers: Response[], refusals: Refusal[][]) {
  expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
  const index = answers.findIndex((answer) => answer.status !== 200);
  const refused = answers[index] as Response;
  const { code } = (await refused.json()) as { code: string };
  expect(refusals[index]).toContainEqual({ status: refused.status, code });
}

describe("the last owner under concurrency", { timeout: 60_000 }, () => {
  it("two demotions at once: one goes through, the other is refused and an owner stays", async () => {
    const { first, firstMemberId, secondMemberId, orgId } = await twoOwners();
    const answers = await Promise.all(
      [secondMemberId, firstMemberId].map((memberId) =>
        api(
          "/organization/update-member-role",
          { memberId, role: "member", organizationId: orgId },
          { Cookie: first.cookie },
        ),
      ),
    );
    // The owner's own demotion, refused, is always the last-owner refusal. The other owner's, refused, is that
    // refusal when it read its sender as an owner before the sender stepped down (the conditional write then
    // finds no other owner), or 403 when the sender's own demotion had landed before it read them: a member
    // may not demote an owner.
    await oneRefused(answers, [
      [WITHOUT_AN_OWNER, { status: 403, code: "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER" }],
      [WITHOUT_AN_OWNER],
    ]);
    expect(await owners(orgId)).toBe(1);
    // The change that went through settled its owed cut-off; the refused one owed none.
    expect(await owedCutoffs(orgId)).toBe(0);
  });

  it("two removals at once: one goes through, one is 400 and an owner stays", async () => {
    const { first, firstMemberId, secondMemberId, orgId } = await twoOwners();
    const answers = await Promise.all(
      [secondMemberId, firstMemberId].map((memberIdOrEmail) =>
        api("/organization/remove-member", { memberIdOrEmail, organizationId: orgId }, { Cookie: first.cookie }),
      ),
    );
    // The owner's own removal, refused, is always the last-owner refusal. The other owner's, refused, is that
    // refusal when it read its sender as an owner before the sender's removal landed, or 400 MEMBER_NOT_FOUND
    // when it landed before: the sender is no member of the org then.
    await oneRefused(answers, [[ONLY_OWNER, { status: 400, code: "MEMBER_NOT_FOUND" }], [ONLY_OWNER]]);
    expect(await owners(orgId)).toBe(1);
    // The change that went through settled its owed cut-off; the refused one owed none.
    expect(await owedCutoffs(orgId)).toBe(0);
  });

  it("both owners leaving at once: one leaves, one is 400 and stays the owner", async () => {
    const { first, second, orgId } = await twoOwners();
    const answers = await Promise.all(
      [first.cookie, second.cookie].map((cookie) =>
        api("/organization/leave", { organizationId: orgId }, { Cookie: cookie }),
      ),
    );
    // Each leaves only themselves: whichever goes second is the last owner, whatever it read before.
    await oneRefused(answers, [[ONLY_OWNER], [ONLY_OWNER]]);
    expect(await owners(orgId)).toBe(1);
    // The change that went through settled its owed cut-off; the refused one owed none.
    expect(await owedCutoffs(orgId)).toBe(0);
    const members = await env.DB.prepare("SELECT role FROM member WHERE organization_id = ?")
      .bind(orgId)
      .all<{ role: string }>();
    expect(members.results).toEqual([{ role: "owner" }]);
  });

  it("an owner leaving while another owner remains goes through", async () => {
    const { second, orgId } = await twoOwners();
    const answer = await api("/organization/leave", { organizationId: orgId }, { Cookie: second.cookie });
    expect(answer.status).toBe(200);
    const rows = await env.DB.prepare("SELECT user_id AS userId FROM member WHERE organization_id = ?")
      .bind(orgId)
      .all<{ userId: string }>();
    expect(rows.results.map((row) => row.userId)).not.toContain(second.userId);
    expect(await owners(orgId)).toBe(1);
    // The change that went through settled its owed cut-off; the refused one owed none.
    expect(await owedCutoffs(orgId)).toBe(0);
  });
});

describe("the conditional write carries the cut-off it owes", { timeout: 60_000 }, () => {
  // What the after hook settles (revocation/membership-revocation.ts): the
  // owed row is in the write's own batch, so it is there exactly when the
  // write changed the membership. Called directly: no request fails only
  // the after hook's revocation.
  const owedRows = async (orgId: string) =>
    (
      await env.DB.prepare(
        "SELECT user_id AS userId, reason, previous_role AS previousRole FROM owed_member_cutoff WHERE org_id = ?",
      )
        .bind(orgId)
        .all()
    ).results;

  it("a removal and a demotion that land owe their cut-off; a refused one owes nothing", async () => {
    const { first, second, firstMemberId, secondMemberId, orgId } = await twoOwners();
    const owed = (userId: string, reason: string) => owedMemberCutoff(orgId, userId, reason, "owner");

    await changeRoleKeepingAnOwner(env.DB, secondMemberId, "member", owed(second.userId, "role-changed"));
    expect(await owedRows(orgId)).toEqual([{ userId: second.userId, reason: "role-changed", previousRole: "owner" }]);
    await env.DB.prepare("DELETE FROM owed_member_cutoff WHERE org_id = ?").bind(orgId).run();

    // The last owner now: both writes are refused, and owe nothing.
    await expect(
      changeRoleKeepingAnOwner(env.DB, firstMemberId, "member", owed(first.userId, "role-changed")),
    ).rejects.toMatchObject({ body: { code: "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER" } });
    await expect(
      removeKeepingAnOwner(env.DB, firstMemberId, owed(first.userId, "member-removed")),
    ).rejects.toMatchObject({
      body: { code: "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER" },
    });
    expect(await owedRows(orgId)).toEqual([]);

    await removeKeepingAnOwner(env.DB, secondMemberId, owed(second.userId, "member-removed"));
    expect(await owedRows(orgId)).toEqual([{ userId: second.userId, reason: "member-removed", previousRole: "owner" }]);
  });
});
