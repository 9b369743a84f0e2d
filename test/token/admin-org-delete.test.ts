// DELETE /admin/v1/orgs/{org} (workers/token/src/admin/org-deletion.ts): a
// platform operator deletes an org with the guarantees of an owner's
// deletion through Better Auth (test/authn/org-delete-owed-cutoff.test.ts):
// an `org` cut-off recorded in the org's Durable Object before anything is
// deleted, the delete and its owed row (D1 `owed_org_cutoff`) in one batch,
// the cut-off after it recorded and the row cleared.
//
// The refusal is the org's Durable Object's own: it records values of at
// most 256 characters (workers/org-state/src/revocation-recording.ts), and an `org`
// cut-off's value is the org's id (test/support/runtime/owed-cutoffs.ts).
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { adminAudience, ENDPOINT } from "../../shared/contracts/endpoints.ts";
import type { RevocableClaims } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { oweOrgCutoff, owedOrgCutoff } from "../../shared/revocation/owed-org-cutoffs.ts";
import { inFlightTokenRevoked, unrecordableOrg } from "../support/runtime/owed-cutoffs.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { basicAuthorization, clientToken, mintedToken, registerTestClient } from "./clients-fixtures.ts";
import { expectOAuthError, seedUser, tokenRequest } from "./fixtures.ts";
import { asConsole, join, org } from "./member-fixtures.ts";
import { oidc } from "./oidc-fixture.ts";

let operator: string;
beforeAll(async () => {
  operator = await adminToken();
});

const orgPath = (orgId: string) => `/orgs/${encodeURIComponent(orgId)}`;

const deletion = (orgId: string) => adminRequest("DELETE", orgPath(orgId), { token: operator });

/** Whether the org's object refuses this token now (OrgState.isRevoked, the check the gateway's snapshot mirrors). */
function isRevoked(token: string): Promise<boolean> {
  const claims = decodeJwt(token) as unknown as RevocableClaims;
  return env.ORG_STATE.getByName(orgStateName(claims.org_id)).isRevoked(claims);
}

async function count(sql: string, orgId: string): Promise<number> {
  const row = await env.DB.prepare(sql).bind(orgId).first<{ n: number }>();
  return row?.n ?? -1;
}

/** What of the org D1 still holds: the org, its members, its invitations, what its deletion owes. */
async function leftOf(orgId: string) {
  return {
    org: await count("SELECT count(*) AS n FROM organization WHERE id = ?", orgId),
    members: await count("SELECT count(*) AS n FROM member WHERE organization_id = ?", orgId),
    invitations: await count("SELECT count(*) AS n FROM invitation WHERE organization_id = ?", orgId),
    owed: await count("SELECT count(*) AS n FROM owed_org_cutoff WHERE org_id = ?", orgId),
  };
}

async function invite(orgId: string, inviterId: string): Promise<void> {
  await env.DB.prepare(
    "INSERT INTO invitation (id, organization_id, email, role, status, expires_at, created_at, inviter_id) VALUES (?, ?, ?, 'member', 'pending', ?, ?, ?)",
  )
    .bind(
      crypto.randomUUID(),
      orgId,
      `invitee-${crypto.randomUUID()}@example.com`,
      Date.now() + 3_600_000,
      Date.now(),
      inviterId,
    )
    .run();
}

/** The org's `org` revocation events (its object's log). */
async function orgRevocations(orgId: string): Promise<number> {
  const changes = await env.ORG_STATE.getByName(orgStateName(orgId)).changesSince(0);
  if (changes.kind !== "changes") throw new Error(`expected the org's events, got ${changes.kind}`);
  return changes.events.filter((event) => event.kind === "org").length;
}

/** The authn Worker beside the token Worker (vitest.config.ts): Better Auth's API and POST /app/token, as the page calls them. */
function authn(path: string, cookie: string, body: string, contentType: string): Promise<Response> {
  const origin = new URL(env.ISSUER).origin;
  return (env as unknown as { AUTHN_PAGES: Fetcher }).AUTHN_PAGES.fetch(
    new Request(`${origin}${path}`, {
      method: "POST",
      headers: { "Content-Type": contentType, Cookie: cookie, Origin: origin },
      body,
    }),
  );
}

const setActive = (cookie: string, organizationId: string) =>
  authn("/api/auth/organization/set-active", cookie, JSON.stringify({ organizationId }), "application/json");

const appToken = (cookie: string) =>
  authn(
    ENDPOINT.sessionToken,
    cookie,
    new URLSearchParams({ audience: env.ALLOWED_AUDIENCES.split(" ")[0] ?? "" }).toString(),
    "application/x-www-form-urlencoded",
  );

async function activeOrgOf(sessionId: string): Promise<string | null | undefined> {
  const row = await env.DB.prepare("SELECT active_organization_id AS orgId FROM session WHERE id = ?")
    .bind(sessionId)
    .first<{ orgId: string | null }>();
  return row?.orgId;
}

/** The `admin.action` event of this org whose detail names `action`. */
function audited(orgId: string, action: string) {
  return expect.poll(
    async () =>
      (
        await env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE kind = 'admin.action' AND org_id = ?")
          .bind(orgId)
          .all<{ detail: string }>()
      ).results
        .map((r) => JSON.parse(r.detail) as Record<string, unknown>)
        .filter((detail) => detail.action === action),
    { timeout: 10_000 },
  );
}

describe("admin API: DELETE /orgs/{org}", () => {
  it("deletes the org, its members and invitations; its tokens are refused and its clients unknown", async () => {
    const { orgId, owner, member } = await org();
    await invite(orgId, owner.userId);
    const client = await registerTestClient({ orgId });
    const token = await clientToken(client);
    const before = await env.DB.prepare("SELECT name, slug, created_at FROM organization WHERE id = ?")
      .bind(orgId)
      .first<{ name: string; slug: string; created_at: number }>();

    const response = await deletion(orgId);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: orgId,
      name: before?.name,
      slug: before?.slug,
      created_at: new Date(before?.created_at ?? 0).toISOString(),
      deleted: true,
      cutoff: "recorded",
    });

    expect(await leftOf(orgId)).toEqual({ org: 0, members: 0, invitations: 0, owed: 0 });
    // Both cut-offs are in the org's object: a token from before, and one minted while the delete was in flight.
    expect(await orgRevocations(orgId)).toBe(2);
    expect(await isRevoked(token)).toBe(true);
    expect(await inFlightTokenRevoked(orgId, member.userId)).toBe(true);
    // Its client's row stays, as after Better Auth's delete; the token endpoint knows no client of a gone org.
    expect(await count("SELECT count(*) AS n FROM oauth_client WHERE org_id = ?", orgId)).toBe(1);
    await expectOAuthError(
      await tokenRequest(
        { grant_type: GRANT_TYPE.clientCredentials },
        { headers: { Authorization: basicAuthorization(client.clientId, client.secret) } },
      ),
      401,
      "invalid_client",
    );
    await audited(orgId, "org.delete").toEqual([
      expect.objectContaining({ org_id: orgId, cutoff: "recorded", method: "DELETE", status: 200 }),
    ]);
  });

  it("the org is no session's active org any more: a member's POST /app/token is 400 invalid_grant, no active organization", async () => {
    const owner = await oidc.signUp("Owner");
    const other = await oidc.signUp("Other member");
    await env.DB.prepare(
      "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
    )
      .bind(crypto.randomUUID(), owner.orgId, other.userId, Date.now())
      .run();
    expect((await setActive(other.cookie, owner.orgId)).status).toBe(200);
    expect(await activeOrgOf(other.sessionId)).toBe(owner.orgId);
    expect((await appToken(other.cookie)).status).toBe(200);
    const bystander = await oidc.signUp("Bystander");

    expect((await deletion(owner.orgId)).status).toBe(200);

    // No Better Auth request deleted it, so no session of Better Auth's was unset by it: the batch did, every one.
    expect(await activeOrgOf(other.sessionId)).toBeNull();
    expect(await activeOrgOf(owner.sessionId)).toBeNull();
    expect(await activeOrgOf(bystander.sessionId)).toBe(bystander.orgId);
    for (const cookie of [other.cookie, owner.cookie]) {
      const refused = await appToken(cookie);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toEqual({
        error: "invalid_grant",
        error_description: "the session has no active organization",
      });
    }
  });

  it("404 not_found for an org already deleted, one that never existed, and the platform", async () => {
    const { orgId } = await org();
    expect((await deletion(orgId)).status).toBe(200);
    await expectHttpError(await deletion(orgId), 404, "not_found");
    for (const id of ["no-such-org", "platform"]) await expectHttpError(await deletion(id), 404, "not_found");
    // The repeat recorded nothing more: it found no org.
    expect(await orgRevocations(orgId)).toBe(2);
  });

  it("an org's own owner or admin may not, nor an admin token of the org: 403 forbidden", async () => {
    const { orgId, owner, admin } = await org();
    for (const person of [owner, admin]) {
      await expectHttpError(await asConsole(person.token, "DELETE", orgPath(orgId)), 403, "forbidden");
    }
    // An admin token of the org's own, not the platform's (admin-auth.test.ts).
    const orgAdminToken = await mintedToken(await registerTestClient({ orgId }), {
      audience: adminAudience(env.ISSUER),
      scope: "admin",
    });
    await expectHttpError(await adminRequest("DELETE", orgPath(orgId), { token: orgAdminToken }), 403, "forbidden");
    expect(await leftOf(orgId)).toEqual({ org: 1, members: 4, invitations: 0, owed: 0 });
    expect(await orgRevocations(orgId)).toBe(0);
  });

  it("503 temporarily_unavailable with Retry-After, and nothing deleted, when the org's object refuses the cut-off", async () => {
    const ownerId = await seedUser();
    const orgId = await unrecordableOrg(ownerId);
    await invite(orgId, ownerId);
    const refused = await deletion(orgId);
    expect(refused.headers.get("Retry-After")).toBe("5");
    await expectHttpError(refused, 503, "temporarily_unavailable");
    expect(await leftOf(orgId)).toEqual({ org: 1, members: 1, invitations: 1, owed: 0 });
  });

  it("two deletions at once: one 200, the other 404; the org gone, its tokens refused, nothing owed", async () => {
    const { orgId, member } = await org();
    await join(orgId, "member");
    const client = await registerTestClient({ orgId });
    const token = await clientToken(client);
    const responses = await Promise.all([deletion(orgId), deletion(orgId)]);
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 404]);
    const lost = responses.find((r) => r.status === 404) as Response;
    await expectHttpError(lost, 404, "not_found");
    expect(await leftOf(orgId)).toEqual({ org: 0, members: 0, invitations: 0, owed: 0 });
    expect(await isRevoked(token)).toBe(true);
    expect(await inFlightTokenRevoked(orgId, member.userId)).toBe(true);
  });

  it("an operator's and an owner's deletion rows side by side: the operator's clears only its own", async () => {
    // An owner's deletion through Better Auth left its row (its after hook's cut-off refused):
    // that row answers the owner's retry, so the operator's deletion, racing it, must not take it.
    const { orgId, owner } = await org();
    await env.DB.batch([
      oweOrgCutoff(env.DB, owedOrgCutoff(orgId, "org-deleted", { by: owner.userId, organization: { id: orgId } })),
    ]);
    expect((await deletion(orgId)).status).toBe(200);
    const rows = await env.DB.prepare("SELECT deleted_by FROM owed_org_cutoff WHERE org_id = ?")
      .bind(orgId)
      .all<{ deleted_by: string | null }>();
    expect(rows.results).toEqual([{ deleted_by: owner.userId }]);
  });
});
