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
// (workers/org-state/src/revocation-recording.ts), so a person whose id is that long
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

/** Better Auth's delete of the person's membership, as the removal's or the leave's write lands. */
function deleteMember(orgId: string, userId: string) {
  return env.DB.prepare("DELETE FROM member WHERE organization_id = ? AND user_id = ?").bind(orgId, userId);
}

/** A row as its writer leaves it, with the `created_at` given. */
function owe(orgId: string, userId: string, createdAt: number, reason = "member-removed", previousRole = "member") {
  return env.DB.prepare(
    "INSERT INTO owed_member_cutoff (id, org_id, user_id, reason, previous_role, created_at) VALUES (?, ?, ?, ?, ?, ?)",
  ).bind(crypto.randomUUID(), orgId, userId, reason, previousRole, createdAt);
}

/** What a removal (`role` null) or a demotion leaves when its second cut-off was not recorded. */
async function leftOwed(orgId: string, userId: string, change: { role: string | null; previousRole: string }) {
  const write =
    change.role === null
      ? deleteMember(orgId, userId)
      : env.DB.prepare("UPDATE member SET role = ? WHERE organization_id = ? AND user_id = ?").bind(
          change.role,
          orgId,
          userId,
        );
  const reason = change.role === null ? "member-removed" : "role-changed";
  await env.DB.batch([write, owe(orgId, userId, Date.now(), reason, change.previousRole)]);
}

/** A `created_at` the cron takes: past the grace a row is its own request's. */
function pastGrace(): number {
  return Date.now() - OWED_ROW_GRACE_MS - 60_000;
}

/** Ages every row the org owes past the grace, as the minutes passing would, then runs the cron. */
async function cronPastGrace(orgId: string): Promise<void> {
  await env.DB.prepare("UPDATE owed_member_cutoff SET created_at = ? WHERE org_id = ?").bind(pastGrace(), orgId).run();
  await runCron();
}

const removal = (token: string, orgId: string, userId: string) =>
  adminRequest("DELETE", memberPath(orgId, userId), { token });

const roleChange = (token: string, orgId: string, userId: string, role: string) =>
  adminRequest("PATCH", memberPath(orgId, userId), { token, body: { role } });

/** A 200 from a removal or a role change, with the whole body it answers. */
async function expectChanged(
  response: Response,
  orgId: string,
  userId: string,
  change: { role: string | null; previous_role: string; revoked: boolean },
): Promise<void> {
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ org_id: orgId, user_id: userId, ...change });
}

/** The person's cut-off is recorded in the org's object and nothing is owed in the org any more. */
async function expectSettled(orgId: string, userId: string): Promise<void> {
  expect(await inFlightTokenRevoked(orgId, userId)).toBe(true);
  expect(await owedCutoffs(orgId)).toEqual([]);
}

describe("a removal whose second cut-off was not recorded", () => {
  it("its retry records it and answers 200 with the role it had; the next retry is 404", async () => {
    const token = await adminToken();
    const { orgId, admin } = await org();
    await leftOwed(orgId, admin.userId, { role: null, previousRole: "admin" });
    expect(await inFlightTokenRevoked(orgId, admin.userId)).toBe(false);

    await expectChanged(await removal(token, orgId, admin.userId), orgId, admin.userId, {
      role: null,
      previous_role: "admin",
      revoked: true,
    });
    await expectSettled(orgId, admin.userId);
    await expectHttpError(await removal(token, orgId, admin.userId), 404, "not_found");
  });

  it("an org admin's retry for an owner's removal records the cut-off but is 403 forbidden, as the removal would be", async () => {
    const { orgId, admin, secondOwner } = await org();
    await leftOwed(orgId, secondOwner.userId, { role: null, previousRole: "owner" });

    const retried = await asConsole(admin.token, "DELETE", memberPath(orgId, secondOwner.userId));
    await expectHttpError(retried, 403, "forbidden");
    // What was owed is recorded whoever asks.
    await expectSettled(orgId, secondOwner.userId);
  });

  it("a retry that still cannot record it is 503 again and keeps the row", async () => {
    const token = await adminToken();
    const { orgId } = await org();
    const person = await join(orgId, "member", unrecordableId());
    await leftOwed(orgId, person.userId, { role: null, previousRole: "member" });
    await expectHttpError(await removal(token, orgId, person.userId), 503, "temporarily_unavailable");
    expect(await owedCutoffs(orgId)).toEqual([person.userId]);
  });
});

describe("a demotion whose second cut-off was not recorded", () => {
  it("its retry records it and says so: the role stands, revoked true", async () => {
    const token = await adminToken();
    const { orgId, admin } = await org();
    await leftOwed(orgId, admin.userId, { role: "member", previousRole: "admin" });

    await expectChanged(await roleChange(token, orgId, admin.userId, "member"), orgId, admin.userId, {
      role: "member",
      previous_role: "admin",
      revoked: true,
    });
    await expectSettled(orgId, admin.userId);
  });

  it("a different change of the membership records it before its own", async () => {
    const token = await adminToken();
    const { orgId, admin } = await org();
    await leftOwed(orgId, admin.userId, { role: "member", previousRole: "admin" });

    const promoted = await roleChange(token, orgId, admin.userId, "admin");
    expect(await promoted.json()).toMatchObject({ role: "admin", previous_role: "member", revoked: false });
    expect(await subjectRevocations(orgId)).toContain(admin.userId);
    expect(await owedCutoffs(orgId)).toEqual([]);
  });
});

describe("the cron trigger and an owed member cut-off", () => {
  it("records it when no retry comes, and clears the row", async () => {
    const { orgId, member } = await org();
    await leftOwed(orgId, member.userId, { role: null, previousRole: "member" });
    await cronPastGrace(orgId);
    await expectSettled(orgId, member.userId);
  });

  it("keeps the row while the org's object refuses it, and records it on a later run", async () => {
    const { orgId } = await org();
    const { userId: unrecordable } = await join(orgId, "admin", unrecordableId());
    await leftOwed(orgId, unrecordable, { role: "member", previousRole: "admin" });
    await cronPastGrace(orgId);
    expect(await owedCutoffs(orgId)).toEqual([unrecordable]);
    expect(await roleIn(orgId, unrecordable)).toBe("member");

    // The id renamed to one the object records: the next run past the grace settles it.
    const recordable = `user-${crypto.randomUUID()}`;
    await env.DB.prepare("UPDATE owed_member_cutoff SET user_id = ? WHERE user_id = ?")
      .bind(recordable, unrecordable)
      .run();
    await cronPastGrace(orgId);
    await expectSettled(orgId, recordable);
  });

  it("settles several rows of one org in one run: each recorded and cleared, a refused one of the same org to the back", async () => {
    // One call to the org's object for the run's rows of the org (OrgState.revokeSubjects): a person it
    // refuses does not keep the others from being recorded, and only the recorded rows are cleared.
    const { orgId, admin, member } = await org();
    const third = await join(orgId, "member");
    const { userId: refused } = await join(orgId, "admin", unrecordableId());
    const past = pastGrace();
    await env.DB.batch([
      owe(orgId, refused, past - 5, "role-changed", "admin"),
      deleteMember(orgId, member.userId),
      owe(orgId, member.userId, past - 4),
      env.DB.prepare("UPDATE member SET role = 'member' WHERE organization_id = ? AND user_id = ?").bind(
        orgId,
        admin.userId,
      ),
      owe(orgId, admin.userId, past - 3, "role-changed", "admin"),
      deleteMember(orgId, third.userId),
      owe(orgId, third.userId, past - 2),
      // The same person owing twice (demoted, then removed): both rows go.
      deleteMember(orgId, admin.userId),
      owe(orgId, admin.userId, past - 1, "member-removed", "member"),
    ]);
    const started = Date.now();

    await runCron();

    for (const userId of [member.userId, admin.userId, third.userId]) {
      expect(await inFlightTokenRevoked(orgId, userId)).toBe(true);
    }
    expect(await owedCutoffs(orgId)).toEqual([refused]);
    const left = await env.DB.prepare("SELECT created_at FROM owed_member_cutoff WHERE org_id = ?")
      .bind(orgId)
      .first<{ created_at: number }>();
    // Sent to the back of the queue (created_at now), not left oldest.
    expect(left?.created_at).toBeGreaterThanOrEqual(started);
  });

  it("a run's refusals go to the back: 50 refused rows do not keep another org's waiting", async () => {
    const stuck = await org();
    const waiting = await org();
    // 50 rows the stuck org's object refuses (ids past its bound), older than the waiting org's row.
    const past = pastGrace();
    await env.DB.batch(Array.from({ length: 50 }, (_, i) => owe(stuck.orgId, unrecordableId(), past - 60_000 + i)));
    await env.DB.batch([
      deleteMember(waiting.orgId, waiting.member.userId),
      owe(waiting.orgId, waiting.member.userId, past),
    ]);

    await runCron();
    await runCron();

    await expectSettled(waiting.orgId, waiting.member.userId);
    expect(await owedCutoffs(stuck.orgId)).toHaveLength(50);
  });

  it("a retry after the cron recorded it finds nothing owed: a removal's is 404, a demotion's is revoked false", async () => {
    const token = await adminToken();
    const { orgId, admin, member } = await org();
    await leftOwed(orgId, member.userId, { role: null, previousRole: "member" });
    await leftOwed(orgId, admin.userId, { role: "member", previousRole: "admin" });
    await cronPastGrace(orgId);
    expect(await owedCutoffs(orgId)).toEqual([]);

    await expectHttpError(await removal(token, orgId, member.userId), 404, "not_found");
    await expectChanged(await roleChange(token, orgId, admin.userId, "member"), orgId, admin.userId, {
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
    await deleteMember(orgId, member.userId).run();
    await cronPastGrace(orgId);
    await expectSettled(orgId, member.userId);
  });
});

describe("a leave's row before Better Auth's delete lands", () => {
  it("a concurrent change of the membership leaves it while the person is a member, and records it once they are gone", async () => {
    const token = await adminToken();
    const { orgId, member } = await org();
    await owe(orgId, member.userId, Date.now(), MEMBER_LEFT).run();

    const promoted = await roleChange(token, orgId, member.userId, "admin");
    expect(promoted.status).toBe(200);
    expect(await promoted.json()).toMatchObject({ role: "admin", previous_role: "member", revoked: false });
    expect(await owedCutoffs(orgId)).toEqual([member.userId]);

    // The leave's delete lands: the next change records the cut-off first, then finds no member.
    await deleteMember(orgId, member.userId).run();
    await expectHttpError(await removal(token, orgId, member.userId), 404, "not_found");
    await expectSettled(orgId, member.userId);
  });

  it("a change after the grace records it even while the person is a member (the leave was refused and its request died)", async () => {
    const token = await adminToken();
    const { orgId, member } = await org();
    await owe(orgId, member.userId, pastGrace(), MEMBER_LEFT).run();

    const promoted = await roleChange(token, orgId, member.userId, "admin");
    expect(promoted.status).toBe(200);
    await expectSettled(orgId, member.userId);
  });
});
