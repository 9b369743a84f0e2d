import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { liveDelegationGrants } from "../../workers/token/src/grants/delegation-grants.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg, clientToken } from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError } from "./fixtures.ts";
import {
  delegationParams,
  exchange,
  grantDelegation,
  registerAgent,
  seedMember,
  userToken,
} from "./token-exchange-fixtures.ts";

interface GrantView {
  id: string;
  org_id: string;
  subject: string;
  actor_client_id: string;
  scopes: string[];
  audiences: string[];
  status: string;
  expires_at: string | null;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
}

const grantsPath = (orgId: string) => `/orgs/${orgId}/delegation-grants`;

async function setup() {
  const token = await adminToken();
  const orgId = await createTestOrg();
  const userId = await seedMember(orgId);
  const agent = await registerAgent(orgId);
  return { token, orgId, userId, agent };
}

describe("admin API: an org's delegation grants", () => {
  it("creates a grant (201) that token exchange then honours, lists it, and revokes it (no exchange after)", async () => {
    const { token, orgId, userId, agent } = await setup();
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const created = await adminRequest("POST", grantsPath(orgId), {
      token,
      body: {
        subject: userId,
        actor_client_id: agent.clientId,
        scopes: ["documents:read"],
        audiences: AUDIENCE,
        expires_at: expiresAt,
      },
    });
    expect(created.status).toBe(201);
    const grant = (await created.json()) as GrantView;
    expect(grant).toMatchObject({
      org_id: orgId,
      subject: userId,
      actor_client_id: agent.clientId,
      scopes: ["documents:read"],
      audiences: [AUDIENCE],
      status: "active",
      expires_at: expiresAt,
      revoked_at: null,
    });
    expect(grant.id).toMatch(/^dg_/);

    const attempt = async () =>
      exchange(agent, delegationParams(await userToken(orgId, userId), await clientToken(agent)));
    expect((await attempt()).status).toBe(200);

    const listed = await adminRequest("GET", `${grantsPath(orgId)}?actor_client_id=${agent.clientId}`, { token });
    expect(((await listed.json()) as { grants: GrantView[] }).grants.map((g) => g.id)).toEqual([grant.id]);
    const none = await adminRequest("GET", `${grantsPath(orgId)}?subject=someone-else`, { token });
    expect(((await none.json()) as { grants: GrantView[] }).grants).toEqual([]);

    const revoked = await adminRequest("DELETE", `${grantsPath(orgId)}/${grant.id}`, { token });
    expect(revoked.status).toBe(200);
    const first = (await revoked.json()) as GrantView;
    expect(first).toMatchObject({ id: grant.id, status: "revoked" });
    expect(first.revoked_at).not.toBeNull();
    await expectOAuthError(await attempt(), 400, "invalid_request");
    // Revoking again keeps the first time.
    const again = (await (
      await adminRequest("DELETE", `${grantsPath(orgId)}/${grant.id}`, { token })
    ).json()) as GrantView;
    expect(again.revoked_at).toBe(first.revoked_at);
  });

  it("a grant does not outlive the membership it was given in: removed and added back, the person's agent acts for them only under a new grant", async () => {
    const { orgId, userId, agent } = await setup();
    await grantDelegation(orgId, userId, agent);
    const attempt = async () =>
      exchange(agent, delegationParams(await userToken(orgId, userId), await clientToken(agent)));
    expect((await attempt()).status).toBe(200);

    // Removed from the org, then a member again: a new membership, later than the grant.
    await env.DB.prepare("DELETE FROM member WHERE organization_id = ? AND user_id = ?").bind(orgId, userId).run();
    await env.DB.prepare(
      "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
    )
      .bind(`m-again-${crypto.randomUUID()}`, orgId, userId, Date.now() + 1)
      .run();
    await expectOAuthError(await attempt(), 400, "invalid_request");
    // The read an exchange makes when its client's statement did not bring the grants, and the jwt-bearer grant's.
    const parties = { orgId, subject: userId, actorClientId: agent.clientId };
    expect(await liveDelegationGrants(env.DB, parties, new Date())).toEqual([]);

    // Consent given again, within this membership: honoured.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await grantDelegation(orgId, userId, agent);
    expect((await attempt()).status).toBe(200);
    expect(await liveDelegationGrants(env.DB, parties, new Date())).toHaveLength(1);
  });

  it("400 invalid_body for an unknown field, a missing or foreign subject, another org's client, an unknown scope, a non-URI audience, a past expiry", async () => {
    const { token, orgId, userId, agent } = await setup();
    const otherOrg = await createTestOrg();
    const stranger = await seedMember(otherOrg);
    const foreignAgent = await registerAgent(otherOrg);
    const valid = {
      subject: userId,
      actor_client_id: agent.clientId,
      scopes: ["documents:read"],
      audiences: [AUDIENCE],
    };
    const bodies: Record<string, unknown>[] = [
      { ...valid, colour: "blue" },
      { ...valid, subject: undefined },
      { ...valid, subject: stranger },
      { ...valid, actor_client_id: foreignAgent.clientId },
      { ...valid, scopes: ["documents:delete"] },
      { ...valid, scopes: [] },
      { ...valid, audiences: ["urn:not-a-web-uri"] },
      { ...valid, expires_at: new Date(Date.now() - 1000).toISOString() },
      { ...valid, expires_at: "tomorrow" },
    ];
    for (const body of bodies) {
      await expectHttpError(await adminRequest("POST", grantsPath(orgId), { token, body }), 400, "invalid_body");
    }
  });

  it("404 not_found for an unknown org or grant", async () => {
    const { token, orgId } = await setup();
    await expectHttpError(await adminRequest("GET", grantsPath("no-such-org"), { token }), 404, "not_found");
    await expectHttpError(await adminRequest("DELETE", `${grantsPath(orgId)}/dg_unknown`, { token }), 404, "not_found");
  });

  it("401 without an operator token", async () => {
    const { orgId } = await setup();
    const response = await adminRequest("GET", grantsPath(orgId));
    expect(response.status).toBe(401);
  });
});
