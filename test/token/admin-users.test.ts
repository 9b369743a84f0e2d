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
