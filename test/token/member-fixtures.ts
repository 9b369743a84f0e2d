// People in an org for the admin API's membership tests
// (admin-member-changes.test.ts, admin-member-owed-cutoff.test.ts): seeded
// in D1 as Better Auth writes them, each with a console session.
import { env, exports } from "cloudflare:workers";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { seedSession, seedUser } from "./fixtures.ts";

export async function subjectRevocations(orgId: string): Promise<string[]> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return snapshot.entries.filter((e) => e.kind === "subject").map((e) => e.value);
}

export async function roleIn(orgId: string, userId: string): Promise<string | null> {
  const row = await env.DB.prepare("SELECT role FROM member WHERE organization_id = ? AND user_id = ?")
    .bind(orgId, userId)
    .first<{ role: string }>();
  return row?.role ?? null;
}

export async function owners(orgId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM member WHERE organization_id = ? AND role = 'owner'")
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

/** Another person in the org, with `role` and a console session; `id` overrides the generated one. */
export async function join(orgId: string, role: string, id: string = crypto.randomUUID()) {
  const userId = await seedUser(id);
  const token = `session-token-${crypto.randomUUID()}`;
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare("INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, ?, ?)").bind(
      `m-${crypto.randomUUID()}`,
      orgId,
      userId,
      role,
      now,
    ),
    env.DB.prepare(
      "INSERT INTO session (id, token, user_id, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
    ).bind(`s-${crypto.randomUUID()}`, token, userId, now + 3_600_000, now, now),
  ]);
  return { userId, token };
}

/** An org with an owner (whose console session `owner.token` is), a second owner, an admin and a member. */
export async function org() {
  const owner = await seedSession({ role: "owner" });
  const { orgId } = owner;
  return {
    orgId,
    owner,
    secondOwner: await join(orgId, "owner"),
    admin: await join(orgId, "admin"),
    member: await join(orgId, "member"),
  };
}

export const memberPath = (orgId: string, userId: string) =>
  `/orgs/${encodeURIComponent(orgId)}/members/${encodeURIComponent(userId)}`;

/** A call of the admin API from a person's console session. */
export function asConsole(sessionToken: string, method: string, path: string, body?: unknown): Promise<Response> {
  return exports.ConsoleAdmin.fetchAs(
    sessionToken,
    new Request(`http://localhost${ENDPOINT.admin}${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

/** The cut-offs still owed in an org (D1 `owed_member_cutoff`), as user ids. */
export async function owedCutoffs(orgId: string): Promise<string[]> {
  const rows = await env.DB.prepare("SELECT user_id FROM owed_member_cutoff WHERE org_id = ? ORDER BY created_at")
    .bind(orgId)
    .all<{ user_id: string }>();
  return rows.results.map((r) => r.user_id);
}
