// An operator's ban or sign-out of a person with many sessions
// (admin/person-cutoff.ts): D1 binds at most 100 parameters a statement, so
// a cut-off that bound each session's id would fail for a person with more
// than 50 of them, and one with more than 100 could not be cut off at all.
// A person cannot make themselves un-bannable by signing in often.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { adminRequest, adminToken } from "./admin-fixtures.ts";
import { seedSession } from "./fixtures.ts";

/** `count` more sessions of the person's, each minted in `orgId` (D1 `session_org`). */
async function manySessions(userId: string, orgId: string, count: number): Promise<void> {
  const now = Date.now();
  const statements = Array.from({ length: count }, (_, i) => {
    const id = `many-${i}-${crypto.randomUUID()}`;
    return [
      env.DB.prepare(
        "INSERT INTO session (id, token, user_id, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
      ).bind(id, `token-${id}`, userId, now + 3_600_000, now, now),
      env.DB.prepare("INSERT INTO session_org (session_id, org_id, created_at) VALUES (?, ?, ?)").bind(id, orgId, now),
    ];
  }).flat();
  await env.DB.batch(statements);
}

async function subjectRevocations(orgId: string): Promise<string[]> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return snapshot.entries.filter((e) => e.kind === "subject").map((e) => e.value);
}

const sessionsOf = async (userId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM session WHERE user_id = ?").bind(userId).first<{ n: number }>())?.n;

describe.each([
  ["ban", "ban"],
  ["sign-out", "sign-out"],
])("admin API: an operator's %s of a person with many sessions", (_, action) => {
  it.each([60, 150])("with %i more sessions: 200, every session ended, revoked where each minted", async (extra) => {
    const token = await adminToken();
    const person = await seedSession({ role: "member" });
    const elsewhere = await seedSession();
    await manySessions(person.userId, elsewhere.orgId, extra);

    const response = await adminRequest("POST", `/users/${person.userId}/${action}`, { token });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.sessions_ended).toBe(extra + 1);
    expect(body.revoked_in_orgs).toEqual([person.orgId, elsewhere.orgId].sort());
    expect(await sessionsOf(person.userId)).toBe(0);
    expect(await subjectRevocations(elsewhere.orgId)).toContain(person.userId);
  });
});
