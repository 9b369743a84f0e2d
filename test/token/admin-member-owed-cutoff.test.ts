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
//
// The cron takes only rows older than OWED_ROW_GRACE_MS (a leave's row is
// written before Better Auth's delete, and is its request's until then), so
// the cron's tests write a row's `created_at` into the past.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MEMBER_LEFT, OWED_ROW_GRACE_MS } from "../../shared/revocation/owed-member-cutoffs.ts";
import { inFlightTokenRevoked, unrecordableId } from "../support/runtime/owed-cutoffs.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { runCron } from "./cron-fixture.ts";
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

/** A `created_at` the cron takes: past the grace a row is its own request's. */
function pastGrace(): number {
  return Date.now() - OWED_ROW_GRACE_MS - 60_000;
}

/** Ages every row the org owes past the grace, as the minutes passing would. */
async function agePastGrace(orgId: string): Promise<void> {
  await env.DB.prepare("UPDATE owed_member_cutoff SET created_at = ? WHERE org_id = ?").bind(pastGrace(), orgId).run();
}

/** A row as its writer leaves it, with the `created_at` given. */
function owe(orgId: string, userId: string, createdAt: number, reason = "member-removed", previousRole = "member") {
  return env.DB.prepare(
    "INSERT INTO owed_member_cutoff (id, org_id, user_id, reason, previous_role, created_at) VALUES (?, ?, ?, ?, ?, ?)",
  ).bind(crypto.randomUUID(), orgId, userId, reason, previousRole, createdAt);
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
    const person = await join(orgId, "member", unrecordableId());
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
    await agePastGrace(orgId);
    await runCron();
    expect(await inFlightTokenRevoked(orgId, member.userId)).toBe(true);
    expect(await owedCutoffs(orgId)).toEqual([]);
  });

  it("keeps the row while the org's object refuses it, and records it on a later run", async () => {
    const { orgId } = await org();
    const { userId: unrecordable } = await join(orgId, "admin", unrecordableId());
    await leftOwed(orgId, unrecordable, { role: "member", previousRole: "admin" });
    await agePastGrace(orgId);
    await runCron();
    expect(await owedCutoffs(orgId)).toEqual([unrecordable]);
    expect(await roleIn(orgId, unrecordable)).toBe("member");

    // The id renamed to one the object records: the next run past the grace settles it.
    const recordable = `user-${crypto.randomUUID()}`;
    await env.DB.prepare("UPDATE owed_member_cutoff SET user_id = ? WHERE user_id = ?")
      .bind(recordable, unrecordable)
      .run();
    await agePastGrace(orgId);
    await runCron();
    expect(await owedCutoffs(orgId)).toEqual([]);
    expect(await inFlightTokenRevoked(orgId, recordable)).toBe(true);
  });

  it("a run's refusals go to the back: 50 refused rows do not keep another org's waiting", async () => {
    const stuck = await org();
    const waiting = await org();
    // 50 rows the stuck org's object refuses (ids past its bound), older than the waiting org's row.
    const past = pastGrace();
    await env.DB.batch(Array.from({ length: 50 }, (_, i) => owe(stuck.orgId, unrecordableId(), past - 60_000 + i)));
    await env.DB.prepare("DELETE FROM member WHERE organization_id = ? AND user_id = ?")
      .bind(waiting.orgId, waiting.member.userId)
      .run();
    await owe(waiting.orgId, waiting.member.userId, past).run();

    await runCron();
    await runCron();

    expect(await owedCutoffs(waiting.orgId)).toEqual([]);
    expect(await inFlightTokenRevoked(waiting.orgId, waiting.member.userId)).toBe(true);
    expect(await owedCutoffs(stuck.orgId)).toHaveLength(50);
  });

  it("a retry after the cron recorded it finds nothing owed: a removal's is 404, a demotion's is revoked false", async () => {
    const token = await adminToken();
    const { orgId, admin, member } = await org();
    await leftOwed(orgId, member.userId, { role: null, previousRole: "member" });
    await leftOwed(orgId, admin.userId, { role: "member", previousRole: "admin" });
    await agePastGrace(orgId);
    await runCron();
    expect(await owedCutoffs(orgId)).toEqual([]);

    await expectHttpError(await adminRequest("DELETE", memberPath(orgId, member.userId), { token }), 404, "not_found");
    const demoted = await adminRequest("PATCH", memberPath(orgId, admin.userId), { token, body: { role: "member" } });
    expect(demoted.status).toBe(200);
    expect(await demoted.json()).toEqual({
      org_id: orgId,
      user_id: admin.userId,
      role: "member",
      previous_role: "member",
      revoked: false,
    });
    expect(await inFlightTokenRevoked(orgId, admin.userId)).toBe(true);
  });

  it("leaves a row younger than the grace to its own request, and records it once past", async () => {
    // A leave's before hook wrote its row; Better Auth's delete has not landed.
    const { orgId, member } = await org();
    await owe(orgId, member.userId, Date.now(), MEMBER_LEFT).run();
    await runCron();
    expect(await owedCutoffs(orgId)).toEqual([member.userId]);
    expect(await inFlightTokenRevoked(orgId, member.userId)).toBe(false);

    // The request died after its delete, so no after hook settled it: the cron does, past the grace.
    await env.DB.prepare("DELETE FROM member WHERE organization_id = ? AND user_id = ?")
      .bind(orgId, member.userId)
      .run();
    await agePastGrace(orgId);
    await runCron();
    expect(await owedCutoffs(orgId)).toEqual([]);
    expect(await inFlightTokenRevoked(orgId, member.userId)).toBe(true);
  });
});

describe("a leave's row before Better Auth's delete lands", () => {
  it("a concurrent change of the membership leaves it while the person is a member, and records it once they are gone", async () => {
    const token = await adminToken();
    const { orgId, member } = await org();
    await owe(orgId, member.userId, Date.now(), MEMBER_LEFT).run();

    const promoted = await adminRequest("PATCH", memberPath(orgId, member.userId), { token, body: { role: "admin" } });
    expect(promoted.status).toBe(200);
    expect(await promoted.json()).toMatchObject({ role: "admin", previous_role: "member", revoked: false });
    expect(await owedCutoffs(orgId)).toEqual([member.userId]);

    // The leave's delete lands: the next change records the cut-off first, then finds no member.
    await env.DB.prepare("DELETE FROM member WHERE organization_id = ? AND user_id = ?")
      .bind(orgId, member.userId)
      .run();
    await expectHttpError(await adminRequest("DELETE", memberPath(orgId, member.userId), { token }), 404, "not_found");
    expect(await owedCutoffs(orgId)).toEqual([]);
    expect(await inFlightTokenRevoked(orgId, member.userId)).toBe(true);
  });

  it("a change after the grace records it even while the person is a member (the leave was refused and its request died)", async () => {
    const token = await adminToken();
    const { orgId, member } = await org();
    await owe(orgId, member.userId, pastGrace(), MEMBER_LEFT).run();

    const promoted = await adminRequest("PATCH", memberPath(orgId, member.userId), { token, body: { role: "admin" } });
    expect(promoted.status).toBe(200);
    expect(await owedCutoffs(orgId)).toEqual([]);
    expect(await inFlightTokenRevoked(orgId, member.userId)).toBe(true);
  });
});
