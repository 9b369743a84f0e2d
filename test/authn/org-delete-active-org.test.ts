// An org's deletion through Better Auth (`/organization/delete`) leaves no
// session with the gone org as its active one: Better Auth unsets it only
// on the deleting request's own session, so the delete's batch unsets it on
// every other (shared/revocation/owed-org-cutoffs.ts deleteOrgOwingRow).
// Another member's session then has no active org, and its session exchange
// says so, rather than reading a membership of an org that is no more.
// The admin API's deletion: test/token/admin-org-delete.test.ts.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, exchange, get, signUp } from "./helpers.ts";

async function activeOrgOf(sessionId: string): Promise<string | null | undefined> {
  const row = await env.DB.prepare("SELECT active_organization_id AS orgId FROM session WHERE id = ?")
    .bind(sessionId)
    .first<{ orgId: string | null }>();
  return row?.orgId;
}

/** The session as Better Auth's own get-session reads it from D1 (no cookie cache). */
async function sessionOf(cookie: string): Promise<{ session: { activeOrganizationId?: string | null } }> {
  const response = await get("/api/auth/get-session?disableCookieCache=true", { Cookie: cookie });
  expect(response.status).toBe(200);
  return (await response.json()) as { session: { activeOrganizationId?: string | null } };
}

describe("an org deleted through Better Auth", () => {
  it("is no session's active org any more: another member's exchange is 400 invalid_grant, no active organization", async () => {
    const owner = await signUp("Owner");
    const other = await signUp("Other member");
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
      ).bind(crypto.randomUUID(), owner.orgId, other.userId, Date.now()),
    ]);
    const switched = await api("/organization/set-active", { organizationId: owner.orgId }, { Cookie: other.cookie });
    expect(switched.status).toBe(200);
    expect((await sessionOf(other.cookie)).session.activeOrganizationId).toBe(owner.orgId);
    expect((await exchange(other.cookie)).status).toBe(200);
    // A session of a third person that names another org is left as it is.
    const bystander = await signUp("Bystander");

    const deleted = await api("/organization/delete", { organizationId: owner.orgId }, { Cookie: owner.cookie });
    expect(deleted.status).toBe(200);

    expect(await activeOrgOf(other.sessionId)).toBeNull();
    expect((await sessionOf(other.cookie)).session.activeOrganizationId ?? null).toBeNull();
    expect(await activeOrgOf(owner.sessionId)).toBeNull();
    expect(await activeOrgOf(bystander.sessionId)).toBe(bystander.orgId);

    const refused = await exchange(other.cookie);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: "invalid_grant",
      error_description: "the session has no active organization",
    });
  });
});
