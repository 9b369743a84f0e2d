// Banning a person (admin API /users/{id}/ban, platform operators only):
// the ban is recorded, a subject revocation lands in every org they belong
// to or minted in before the answer, their sessions end; banning again is
// harmless; lifting it is 404 when there is none; org admins cannot.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { seedSession } from "./fixtures.ts";

async function subjectRevocations(orgId: string): Promise<string[]> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return snapshot.entries.filter((e) => e.kind === "subject").map((e) => e.value);
}

describe("admin API: banning a person", () => {
  it("revokes them in their org, ends their sessions, and keeps the first ban", async () => {
    const token = await adminToken();
    const person = await seedSession({ role: "member" });
    const banned = await adminRequest("POST", `/users/${person.userId}/ban`, { token, body: { reason: "abuse" } });
    expect(banned.status).toBe(200);
    const body = (await banned.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      user_id: person.userId,
      banned: true,
      reason: "abuse",
      revoked_in_orgs: [person.orgId],
      sessions_ended: 1,
    });
    expect(await subjectRevocations(person.orgId)).toContain(person.userId);
    const sessions = await env.DB.prepare("SELECT count(*) AS n FROM session WHERE user_id = ?")
      .bind(person.userId)
      .first<{ n: number }>();
    expect(sessions?.n).toBe(0);

    const again = (await (
      await adminRequest("POST", `/users/${person.userId}/ban`, { token, body: { reason: "twice" } })
    ).json()) as Record<string, unknown>;
    expect(again).toMatchObject({ banned_at: body.banned_at, reason: "abuse", sessions_ended: 0 });

    const listed = (await (
      await adminRequest(
        "GET",
        `/users?email=${encodeURIComponent(`${person.userId.slice("user-".length)}@example.com`)}`,
        { token },
      )
    ).json()) as { users: { id: string; banned_at: string | null }[] };
    expect(listed.users.filter((u) => u.id === person.userId).every((u) => u.banned_at === body.banned_at)).toBe(true);

    const lifted = await adminRequest("DELETE", `/users/${person.userId}/ban`, { token });
    expect(((await lifted.json()) as { banned: boolean }).banned).toBe(false);
    await expectHttpError(await adminRequest("DELETE", `/users/${person.userId}/ban`, { token }), 404, "not_found");
  });

  it("an operator's ban and the org directory's (SCIM) deactivation each hold until their own side lifts them", async () => {
    const token = await adminToken();
    const banRow = (userId: string) =>
      env.DB.prepare("SELECT banned_by FROM user_ban WHERE user_id = ?").bind(userId).first<{ banned_by: string }>();
    // What SCIM writes when it deactivates and reactivates (workers/authn/src/scim/deprovision.ts).
    const deactivate = async (userId: string, orgId: string) => {
      await env.DB.batch([
        env.DB.prepare(
          "INSERT INTO scim_user (user_id, org_id, user_name, user_name_key, active, created_at, updated_at) VALUES (?, ?, ?, ?, 0, 0, 0) ON CONFLICT (user_id) DO UPDATE SET active = 0",
        ).bind(userId, orgId, userId, userId),
        env.DB.prepare(
          "INSERT INTO user_ban (user_id, reason, banned_by, banned_at) VALUES (?, 'scim', ?, 0) ON CONFLICT DO NOTHING",
        ).bind(userId, `scim:${orgId}`),
      ]);
    };
    const reactivate = (userId: string) =>
      env.DB.batch([
        env.DB.prepare("UPDATE scim_user SET active = 1 WHERE user_id = ?").bind(userId),
        env.DB.prepare("DELETE FROM user_ban WHERE user_id = ? AND banned_by LIKE 'scim:%'").bind(userId),
      ]);
    const ban = (userId: string) => adminRequest("POST", `/users/${userId}/ban`, { token, body: { reason: "abuse" } });
    const unban = (userId: string) => adminRequest("DELETE", `/users/${userId}/ban`, { token });

    // Operator first, directory second, operator lifts: the directory's ban is back.
    const a = await seedSession();
    expect((await ban(a.userId)).status).toBe(200);
    await deactivate(a.userId, a.orgId);
    expect((await unban(a.userId)).status).toBe(200);
    expect(await banRow(a.userId)).toEqual({ banned_by: `scim:${a.orgId}` });

    // Directory first, operator second, directory lifts: the operator's ban stays.
    const c = await seedSession();
    await deactivate(c.userId, c.orgId);
    expect((await ban(c.userId)).status).toBe(200);
    expect((await banRow(c.userId))?.banned_by).not.toMatch(/^scim:/);
    await reactivate(c.userId);
    expect((await banRow(c.userId))?.banned_by).not.toMatch(/^scim:/);

    // Directory first, operator bans and lifts: the directory's ban is back; the operator cannot lift it.
    const b = await seedSession();
    await deactivate(b.userId, b.orgId);
    expect((await ban(b.userId)).status).toBe(200);
    expect((await unban(b.userId)).status).toBe(200);
    expect(await banRow(b.userId)).toEqual({ banned_by: `scim:${b.orgId}` });
    await expectHttpError(await unban(b.userId), 409, "conflict");
    expect(await banRow(b.userId)).toEqual({ banned_by: `scim:${b.orgId}` });
  });

  it("404 for an unknown person; 400 for an unknown field; 403 for an org admin's console session", async () => {
    const token = await adminToken();
    await expectHttpError(await adminRequest("POST", "/users/nobody/ban", { token, body: {} }), 404, "not_found");
    const person = await seedSession();
    await expectHttpError(
      await adminRequest("POST", `/users/${person.userId}/ban`, { token, body: { why: "x" } }),
      400,
      "invalid_body",
    );
    const owner = await seedSession({ role: "owner" });
    const refused = await exports.ConsoleAdmin.fetchAs(
      owner.token,
      new Request(`http://localhost${ENDPOINT.admin}/users/${person.userId}/ban`, { method: "POST" }),
    );
    await expectHttpError(refused, 403, "forbidden");
  });
});
