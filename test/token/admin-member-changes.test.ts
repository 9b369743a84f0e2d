// Changing a membership from the admin API (DELETE and PATCH
// /orgs/{org}/members/{userId}): a removal or a demotion records a
// `subject` revocation for the person in that org before answering, as the
// authn Worker's remove-member hook does; the last owner stays, even when
// two owners remove or demote each other at once; only an owner (or a
// platform operator) grants or takes `owner`.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { seedSession } from "./fixtures.ts";
import {
  asConsole,
  join,
  memberPath,
  org,
  owedCutoffs,
  owners,
  roleIn,
  subjectRevocations,
} from "./member-fixtures.ts";

describe("admin API: removing a member", () => {
  it("removes the membership and revokes the person's tokens in that org only, audited", async () => {
    const token = await adminToken();
    const { orgId, member } = await org();
    const ownOrg = await seedSession({ role: "owner" });
    await env.DB.prepare("UPDATE member SET user_id = ? WHERE organization_id = ?")
      .bind(member.userId, ownOrg.orgId)
      .run();
    expect(await subjectRevocations(orgId)).not.toContain(member.userId);

    const removed = await adminRequest("DELETE", memberPath(orgId, member.userId), { token });
    expect(removed.status).toBe(200);
    expect(await removed.json()).toEqual({
      org_id: orgId,
      user_id: member.userId,
      role: null,
      previous_role: "member",
      revoked: true,
    });
    expect(await roleIn(orgId, member.userId)).toBeNull();
    expect(await subjectRevocations(orgId)).toContain(member.userId);
    expect(await subjectRevocations(ownOrg.orgId)).not.toContain(member.userId);
    expect(await owedCutoffs(orgId)).toEqual([]);
    await expect
      .poll(async () =>
        (
          await env.AUDIT_DB.prepare(
            "SELECT org_id, detail FROM audit_event WHERE kind = 'admin.action' AND org_id = ? AND detail LIKE '%member.remove%'",
          )
            .bind(orgId)
            .all<{ detail: string }>()
        ).results.map((r) => JSON.parse(r.detail) as Record<string, unknown>),
      )
      .toEqual([expect.objectContaining({ action: "member.remove", user_id: member.userId, status: 200 })]);

    await expectHttpError(await adminRequest("DELETE", memberPath(orgId, member.userId), { token }), 404, "not_found");
  });

  it("an org admin removes a member of their org; an owner removes an owner", async () => {
    const { orgId, owner, secondOwner, admin, member } = await org();
    expect((await asConsole(admin.token, "DELETE", memberPath(orgId, member.userId))).status).toBe(200);
    expect(await subjectRevocations(orgId)).toContain(member.userId);
    expect((await asConsole(owner.token, "DELETE", memberPath(orgId, secondOwner.userId))).status).toBe(200);
    expect(await roleIn(orgId, secondOwner.userId)).toBeNull();
    expect(await subjectRevocations(orgId)).toContain(secondOwner.userId);
  });
});

describe("admin API: changing a member's role", () => {
  it("a demotion revokes the person's tokens in the org; a promotion and an unchanged role do not", async () => {
    const token = await adminToken();
    const { orgId, admin, member } = await org();
    const patch = (userId: string, role: string) =>
      adminRequest("PATCH", memberPath(orgId, userId), { token, body: { role } });

    const promoted = await patch(member.userId, "admin");
    expect(await promoted.json()).toEqual({
      org_id: orgId,
      user_id: member.userId,
      role: "admin",
      previous_role: "member",
      revoked: false,
    });
    expect(await roleIn(orgId, member.userId)).toBe("admin");
    expect(await subjectRevocations(orgId)).not.toContain(member.userId);

    expect(await (await patch(member.userId, "admin")).json()).toMatchObject({ role: "admin", revoked: false });
    expect(await subjectRevocations(orgId)).not.toContain(member.userId);

    const demoted = await patch(admin.userId, "member");
    expect(await demoted.json()).toMatchObject({ role: "member", previous_role: "admin", revoked: true });
    expect(await roleIn(orgId, admin.userId)).toBe("member");
    expect(await subjectRevocations(orgId)).toContain(admin.userId);
    expect(await owedCutoffs(orgId)).toEqual([]);
  });

  it("an owner grants and takes owner; a demoted owner's tokens are revoked", async () => {
    const { orgId, owner, secondOwner, member } = await org();
    const granted = await asConsole(owner.token, "PATCH", memberPath(orgId, member.userId), { role: "owner" });
    expect(await granted.json()).toMatchObject({ role: "owner", revoked: false });
    const taken = await asConsole(owner.token, "PATCH", memberPath(orgId, secondOwner.userId), { role: "admin" });
    expect(await taken.json()).toMatchObject({ role: "admin", previous_role: "owner", revoked: true });
    expect(await subjectRevocations(orgId)).toContain(secondOwner.userId);
    expect(await owners(orgId)).toBe(2);
  });

  it("400 invalid_body for an unknown role, a missing role or an unknown field", async () => {
    const token = await adminToken();
    const { orgId, member } = await org();
    for (const body of [{ role: "superuser" }, {}, { role: "admin", note: "x" }, { role: ["admin"] }]) {
      await expectHttpError(
        await adminRequest("PATCH", memberPath(orgId, member.userId), { token, body }),
        400,
        "invalid_body",
      );
    }
    expect(await roleIn(orgId, member.userId)).toBe("member");
  });
});

describe("admin API: membership changes refused", () => {
  it("409 conflict for the last owner, removed or demoted; nothing revoked, nothing changed", async () => {
    const token = await adminToken();
    const sole = await seedSession({ role: "owner" });
    const path = memberPath(sole.orgId, sole.userId);
    await expectHttpError(await adminRequest("DELETE", path, { token }), 409, "conflict");
    for (const role of ["admin", "member"]) {
      await expectHttpError(await adminRequest("PATCH", path, { token, body: { role } }), 409, "conflict");
    }
    await expectHttpError(await asConsole(sole.token, "DELETE", path), 409, "conflict");
    expect(await roleIn(sole.orgId, sole.userId)).toBe("owner");
    expect(await subjectRevocations(sole.orgId)).not.toContain(sole.userId);
  });

  it("403 forbidden when an org admin grants or takes owner, or reaches another org", async () => {
    const { orgId, secondOwner, admin, member } = await org();
    await expectHttpError(
      await asConsole(admin.token, "PATCH", memberPath(orgId, member.userId), { role: "owner" }),
      403,
      "forbidden",
    );
    await expectHttpError(
      await asConsole(admin.token, "PATCH", memberPath(orgId, admin.userId), { role: "owner" }),
      403,
      "forbidden",
    );
    await expectHttpError(
      await asConsole(admin.token, "PATCH", memberPath(orgId, secondOwner.userId), { role: "member" }),
      403,
      "forbidden",
    );
    await expectHttpError(
      await asConsole(admin.token, "DELETE", memberPath(orgId, secondOwner.userId)),
      403,
      "forbidden",
    );
    const other = await org();
    await expectHttpError(
      await asConsole(admin.token, "DELETE", memberPath(other.orgId, other.member.userId)),
      403,
      "forbidden",
    );
    // A plain member administers nothing.
    await expectHttpError(await asConsole(member.token, "DELETE", memberPath(orgId, admin.userId)), 403, "forbidden");
    expect(await roleIn(orgId, member.userId)).toBe("member");
    expect(await roleIn(orgId, secondOwner.userId)).toBe("owner");
    expect(await roleIn(other.orgId, other.member.userId)).toBe("member");
    expect(await subjectRevocations(orgId)).toEqual([]);
  });

  it("404 not_found for a non-member and for an unknown org", async () => {
    const token = await adminToken();
    const { orgId } = await org();
    const stranger = await seedSession();
    await expectHttpError(
      await adminRequest("DELETE", memberPath(orgId, stranger.userId), { token }),
      404,
      "not_found",
    );
    await expectHttpError(
      await adminRequest("PATCH", memberPath(orgId, stranger.userId), { token, body: { role: "admin" } }),
      404,
      "not_found",
    );
    await expectHttpError(
      await adminRequest("DELETE", memberPath("no-such-org", stranger.userId), { token }),
      404,
      "not_found",
    );
  });

  it("503 temporarily_unavailable when the revocation cannot be recorded: the membership stays", async () => {
    const token = await adminToken();
    const { orgId } = await org();
    // A user id longer than the org's Durable Object records (256 characters): the real refusal.
    const person = await join(orgId, "admin", `${crypto.randomUUID()}${"0".repeat(300)}`);
    const path = memberPath(orgId, person.userId);
    await expectHttpError(await adminRequest("DELETE", path, { token }), 503, "temporarily_unavailable");
    await expectHttpError(
      await adminRequest("PATCH", path, { token, body: { role: "member" } }),
      503,
      "temporarily_unavailable",
    );
    expect(await roleIn(orgId, person.userId)).toBe("admin");
    expect(await owedCutoffs(orgId)).toEqual([]);
  });
});

describe("admin API: the last owner under concurrent changes", () => {
  // Each owner acts on the other at the same moment, from their own console
  // session: both pass every read before either writes, so only the
  // conditional write keeps an owner.
  const moves: [string, { role: string } | undefined][] = [
    ["DELETE", undefined],
    ["PATCH", { role: "member" }],
  ];
  for (const [first, firstBody] of moves) {
    for (const [second, secondBody] of moves) {
      it(`two owners: ${first} and ${second} of each other leave exactly one owner`, async () => {
        for (let round = 0; round < 3; round++) {
          const a = await seedSession({ role: "owner" });
          const b = await join(a.orgId, "owner");
          const answers = await Promise.all([
            asConsole(a.token, first, memberPath(a.orgId, b.userId), firstBody),
            asConsole(b.token, second, memberPath(a.orgId, a.userId), secondBody),
          ]);
          expect(await owners(a.orgId)).toBe(1);
          // The write that missed owes nothing; the one that landed settled its own.
          expect(await owedCutoffs(a.orgId)).toEqual([]);
          expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
          const refused = answers.find((r) => r.status !== 200);
          const code = ((await refused?.clone().json()) as { code?: string } | undefined)?.code;
          // The loser is refused by the write (409), or, when the winner was
          // done first, as no longer an owner of the org (403).
          if (code === "conflict") await expectHttpError(refused as Response, 409, "conflict");
          else await expectHttpError(refused as Response, 403, "forbidden");
        }
      });
    }
  }
});
