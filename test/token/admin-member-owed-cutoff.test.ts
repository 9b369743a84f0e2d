// A member's removal or demotion from the admin API records a `subject`
// cut-off before its write and another after it; the second is owed from
// the write on (D1 `owed_member_cutoff`, written in the write's own batch,
// cleared once recorded: admin/owed-member-cutoffs.ts). When it cannot be
// recorded the answer is 503 with the change written and the row left, and
// the retry, any later change of the membership, or the cron records it.
//
// No real request fails only the second of two revocations of the same
// value, so the state such a 503 leaves is written here as the route's batch
// writes it: the membership changed and its row owed. The refusal is the
// org's Durable Object's own: it records values of at most 256 characters
// (workers/org-state/src/org-state.ts), so a person whose id is that long
// cannot be cut off until the id is renamed back in D1.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import worker from "../../workers/token/src/index.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { asConsole, join, memberPath, org, owedCutoffs, roleIn, subjectRevocations } from "./member-fixtures.ts";

/** What a removal (`role` null) or a demotion leaves when its second cut-off was not recorded. */
async function leftOwed(orgId: string, userId: string, change: { role: string | null; previousRole: string }) {
  const write =
    change.role === null
      ? env.DB.prepare("DELETE FROM member WHERE organization_id = ? AND user_id = ?").bind(orgId, userId)
      : env.DB.prepare("UPDATE member SET role = ? WHERE organization_id = ? AND user_id = ?").bind(
          change.role,
          orgId,
          userId,
        );
  await env.DB.batch([
    write,
    env.DB.prepare(
      "INSERT INTO owed_member_cutoff (id, org_id, user_id, reason, previous_role, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    ).bind(
      crypto.randomUUID(),
      orgId,
      userId,
      change.role === null ? "member-removed" : "role-changed",
      change.previousRole,
      Date.now(),
    ),
  ]);
}

/** Whether the org's object refuses a token of this person minted now, while the change was in flight. */
function inFlightTokenRevoked(orgId: string, userId: string): Promise<boolean> {
  return env.ORG_STATE.getByName(orgStateName(orgId)).isRevoked({
    jti: crypto.randomUUID(),
    sub: userId,
    client_id: "in-flight",
    org_id: orgId,
    iat: Math.floor(Date.now() / 1000) - 1,
  });
}

async function runCron(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("a removal whose second cut-off was not recorded", () => {
  it("its retry records it and answers 200 with the role it had; the next retry is 404", async () => {
    const token = await adminToken();
    const { orgId, admin } = await org();
    await leftOwed(orgId, admin.userId, { role: null, previousRole: "admin" });
    expect(await inFlightTokenRevoked(orgId, admin.userId)).toBe(false);

    const retried = await adminRequest("DELETE", memberPath(orgId, admin.userId), { token });
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({
      org_id: orgId,
      user_id: admin.userId,
      role: null,
      previous_role: "admin",
      revoked: true,
    });
    expect(await inFlightTokenRevoked(orgId, admin.userId)).toBe(true);
    expect(await owedCutoffs(orgId)).toEqual([]);
    await expectHttpError(await adminRequest("DELETE", memberPath(orgId, admin.userId), { token }), 404, "not_found");
  });

  it("an org admin's retry for an owner's removal records the cut-off but is 403 forbidden, as the removal would be", async () => {
    const { orgId, admin, secondOwner } = await org();
    await leftOwed(orgId, secondOwner.userId, { role: null, previousRole: "owner" });

    const retried = await asConsole(admin.token, "DELETE", memberPath(orgId, secondOwner.userId));
    await expectHttpError(retried, 403, "forbidden");
    // What was owed is recorded whoever asks.
    expect(await inFlightTokenRevoked(orgId, secondOwner.userId)).toBe(true);
    expect(await owedCutoffs(orgId)).toEqual([]);
  });

  it("a retry that still cannot record it is 503 again and keeps the row", async () => {
    const token = await adminToken();
    const { orgId } = await org();
    const person = await join(orgId, "member", `${crypto.randomUUID()}${"0".repeat(300)}`);
    await leftOwed(orgId, person.userId, { role: null, previousRole: "member" });
    await expectHttpError(
      await adminRequest("DELETE", memberPath(orgId, person.userId), { token }),
      503,
      "temporarily_unavailable",
    );
    expect(await owedCutoffs(orgId)).toEqual([person.userId]);
  });
});

describe("a demotion whose second cut-off was not recorded", () => {
  it("its retry records it and says so: the role stands, revoked true", async () => {
    const token = await adminToken();
    const { orgId, admin } = await org();
    await leftOwed(orgId, admin.userId, { role: "member", previousRole: "admin" });

    const retried = await adminRequest("PATCH", memberPath(orgId, admin.userId), { token, body: { role: "member" } });
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({
      org_id: orgId,
      user_id: admin.userId,
      role: "member",
      previous_role: "admin",
      revoked: true,
    });
    expect(await inFlightTokenRevoked(orgId, admin.userId)).toBe(true);
    expect(await owedCutoffs(orgId)).toEqual([]);
  });

  it("a different change of the membership records it before its own", async () => {
    const token = await adminToken();
    const { orgId, admin } = await org();
    await leftOwed(orgId, admin.userId, { role: "member", previousRole: "admin" });

    const promoted = await adminRequest("PATCH", memberPath(orgId, admin.userId), { token, body: { role: "admin" } });
    expect(await promoted.json()).toMatchObject({ role: "admin", previous_role: "member", revoked: false });
    expect(await subjectRevocations(orgId)).toContain(admin.userId);
    expect(await owedCutoffs(orgId)).toEqual([]);
  });
});

describe("the cron trigger and an owed member cut-off", () => {
  it("records it when no retry comes, and clears the row", async () => {
    const { orgId, member } = await org();
    await leftOwed(orgId, member.userId, { role: null, previousRole: "member" });
    await runCron();
    expect(await inFlightTokenRevoked(orgId, member.userId)).toBe(true);
    expect(await owedCutoffs(orgId)).toEqual([]);
  });

  it("keeps the row while the org's object refuses it, and records it on a later run", async () => {
    const { orgId } = await org();
    const { userId: unrecordable } = await join(orgId, "admin", `${crypto.randomUUID()}${"0".repeat(300)}`);
    await leftOwed(orgId, unrecordable, { role: "member", previousRole: "admin" });
    await runCron();
    expect(await owedCutoffs(orgId)).toEqual([unrecordable]);
    expect(await roleIn(orgId, unrecordable)).toBe("member");

    // The id renamed to one the object records: the next run settles it.
    const recordable = `user-${crypto.randomUUID()}`;
    await env.DB.prepare("UPDATE owed_member_cutoff SET user_id = ? WHERE user_id = ?")
      .bind(recordable, unrecordable)
      .run();
    await runCron();
    expect(await owedCutoffs(orgId)).toEqual([]);
    expect(await inFlightTokenRevoked(orgId, recordable)).toBe(true);
  });
});
