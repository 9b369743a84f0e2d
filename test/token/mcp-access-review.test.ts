import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { adminRequest, expectHttpError } from "./admin-fixtures.ts";
import { clientToken, createTestOrg } from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError } from "./fixtures.ts";
import { delegationParams, exchange, registerAgent, seedMember, userToken } from "./token-exchange-fixtures.ts";
import {
  approve,
  discovered,
  fileRequest,
  type GrantView,
  operatorToken,
  type RequestView,
  requestsPath,
  setup,
} from "./mcp-access-fixtures.ts";

// The operator review cycle of agent access (workers/token/src/mcp/review.ts):
// an agent files a request through the agent API, an operator approves
// (narrowing) or denies it through the admin API, the approval is a grant the
// gateway reads (McpRegistryService.liveGrants), revoking it is a revocation
// event, and a request nobody decides expires.

let operator: string;
beforeAll(async () => {
  operator = await operatorToken();
});

describe("operator review: approve, deny, expire", () => {
  it("approve creates a live grant the gateway reads and discovery shows; a second decision is 409 ERR_ACCESS_REQUEST_DECIDED", async () => {
    const { orgId, agent, token } = await setup();
    const request = await fileRequest(token);
    const response = await approve(orgId, request.id, { note: "ok for today" });
    expect(response.status).toBe(200);
    const { access_request, grant } = (await response.json()) as { access_request: RequestView; grant: GrantView };
    expect(access_request).toMatchObject({ status: "approved", grant_id: grant.id });
    expect(access_request.decided_by).toBeTruthy();
    expect(grant).toMatchObject({
      client_id: agent.clientId,
      server: "demo",
      tools: ["purge_documents"],
      on_behalf_of: "org",
      status: "active",
      delegation_grant_id: null,
    });
    const ttl = Date.parse(grant.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(3500_000);
    expect(ttl).toBeLessThanOrEqual(3600_000);

    const live = await exports.McpRegistryService.liveGrants({ orgId, clientId: agent.clientId, server: "demo" });
    expect(live).toEqual([
      {
        id: grant.id,
        tools: ["purge_documents"],
        scopes: [],
        onBehalfOf: "org",
        expiresAt: Date.parse(grant.expires_at),
      },
    ]);
    const demo = (await discovered(token)).servers[0];
    expect(demo?.tools.find((t) => t.name === "purge_documents")).toMatchObject({
      callable: true,
      requires_grant: false,
    });

    const again = await approve(orgId, request.id);
    expect((await expectHttpError(again, 409, "conflict")).detail).toMatch(/^ERR_ACCESS_REQUEST_DECIDED:/);
    const denied = await adminRequest("POST", `${requestsPath(orgId, request.id)}/deny`, { token: operator, body: {} });
    expect((await expectHttpError(denied, 409, "conflict")).detail).toMatch(/^ERR_ACCESS_REQUEST_DECIDED:/);
  });

  it("approval narrows, never widens: fewer tools and a shorter TTL are kept; anything not asked for is 400", async () => {
    const { orgId, agent, token } = await setup();
    const userId = await seedMember(orgId);
    const request = await fileRequest(token, {
      server: "demo",
      tools: ["list_documents", "purge_documents"],
      scopes: ["documents:read"],
      on_behalf_of: userId,
      reason: "weekly report",
      ttl_seconds: 7200,
    });
    for (const [body, detail] of [
      [{ tools: ["drop_tables"] }, /^tools: drop_tables was not asked for/],
      [{ ttl_seconds: 7201 }, /^ttl_seconds: at most the 7200 asked for/],
      [{ tools: [], scopes: [] }, /^tools, scopes: an approval grants at least one/],
      [{ ttl_seconds: 5 }, /^ttl_seconds: must be an integer from 60/],
    ] as const) {
      const refused = await approve(orgId, request.id, body);
      expect((await expectHttpError(refused, 400, "invalid_body")).detail).toMatch(detail);
    }
    const response = await approve(orgId, request.id, { tools: ["list_documents"], ttl_seconds: 600 });
    expect(response.status).toBe(200);
    const { grant } = (await response.json()) as { grant: GrantView };
    expect(grant).toMatchObject({ tools: ["list_documents"], scopes: ["documents:read"], on_behalf_of: userId });
    expect(Date.parse(grant.expires_at) - Date.now()).toBeLessThanOrEqual(600_000);
    // A person's grant is also the delegation grant token exchange honours.
    expect(grant.delegation_grant_id).toMatch(/^dg_/);
    const delegation = await adminRequest("GET", `/orgs/${orgId}/delegation-grants?actor_client_id=${agent.clientId}`, {
      token: operator,
    });
    const { grants } = (await delegation.json()) as { grants: { id: string; subject: string; audiences: string[] }[] };
    expect(grants).toEqual([
      expect.objectContaining({
        id: grant.delegation_grant_id,
        subject: userId,
        audiences: [`${env.ISSUER}${ENDPOINT.mcpDemo}`],
      }),
    ]);
  });

  it("deny decides without a grant", async () => {
    const { orgId, agent, token } = await setup();
    const request = await fileRequest(token);
    const response = await adminRequest("POST", `${requestsPath(orgId, request.id)}/deny`, {
      token: operator,
      body: { note: "not in production" },
    });
    expect(response.status).toBe(200);
    const { access_request } = (await response.json()) as { access_request: RequestView & { decision_note: string } };
    expect(access_request).toMatchObject({ status: "denied", grant_id: null, decision_note: "not in production" });
    expect(await exports.McpRegistryService.liveGrants({ orgId, clientId: agent.clientId, server: "demo" })).toEqual(
      [],
    );
  });

  it("a request nobody decides expires: read as expired, and approving it is 409 ERR_ACCESS_REQUEST_DECIDED", async () => {
    const { orgId, token } = await setup();
    const request = await fileRequest(token);
    const other = await fileRequest(token);
    // Its pending time is up (ACCESS_REQUEST_PENDING_SECONDS, days): move the deadline, not the clock.
    await env.DB.prepare("UPDATE mcp_access_request SET expires_at = ? WHERE id IN (?, ?)")
      .bind(Date.now() - 1000, request.id, other.id)
      .run();
    // The conditional decision refuses it even before any read has marked it.
    const approved = await approve(orgId, other.id);
    expect(approved.status).toBe(409);
    const shown = await adminRequest("GET", requestsPath(orgId, request.id), { token: operator });
    expect(((await shown.json()) as RequestView).status).toBe("expired");
    const response = await approve(orgId, request.id);
    expect((await expectHttpError(response, 409, "conflict")).detail).toMatch(/^ERR_ACCESS_REQUEST_DECIDED:/);
    const pending = await adminRequest("GET", `${requestsPath(orgId)}?status=pending`, { token: operator });
    expect(((await pending.json()) as { access_requests: unknown[] }).access_requests).toEqual([]);
  });

  it("404 not_found for a request or grant of another org; 400 for an unknown status filter", async () => {
    const { token } = await setup();
    const request = await fileRequest(token);
    const elsewhere = await createTestOrg();
    await expectHttpError(await approve(elsewhere, request.id), 404, "not_found");
    await expectHttpError(
      await adminRequest("DELETE", `/orgs/${elsewhere}/mcp-grants/mg_nope`, { token: operator }),
      404,
      "not_found",
    );
    await expectHttpError(
      await adminRequest("GET", `${requestsPath(elsewhere)}?status=maybe`, { token: operator }),
      400,
      "invalid_query",
    );
  });
});

describe("operator review: revoking a grant", () => {
  it("revokes it in D1 (the gateway's next read has no grant) and records a grant revocation event first", async () => {
    const { orgId, agent, token } = await setup();
    const request = await fileRequest(token);
    const { grant } = (await (await approve(orgId, request.id)).json()) as { grant: GrantView };
    const response = await adminRequest("DELETE", `/orgs/${orgId}/mcp-grants/${grant.id}`, { token: operator });
    expect(response.status).toBe(200);
    const revoked = (await response.json()) as GrantView;
    expect(revoked).toMatchObject({ id: grant.id, status: "revoked", revoked_at: expect.any(String) });
    expect(await exports.McpRegistryService.liveGrants({ orgId, clientId: agent.clientId, server: "demo" })).toEqual(
      [],
    );
    const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
    expect(snapshot.entries.filter((e) => e.kind === "grant").map((e) => e.value)).toEqual([grant.id]);
    const listed = await adminRequest("GET", `/orgs/${orgId}/mcp-grants?status=revoked`, { token: operator });
    expect(((await listed.json()) as { grants: GrantView[] }).grants.map((g) => g.id)).toEqual([grant.id]);
    // Revoking twice keeps the first time.
    const again = await adminRequest("DELETE", `/orgs/${orgId}/mcp-grants/${grant.id}`, { token: operator });
    expect(((await again.json()) as GrantView).revoked_at).toBe(revoked.revoked_at);
  });

  it("a revocation that could not be recorded is 503 with the grant still active, and the retry records it (never 200 with nothing recorded)", async () => {
    const { orgId, agent, token } = await setup();
    const request = await fileRequest(token);
    const { grant } = (await (await approve(orgId, request.id)).json()) as { grant: GrantView };
    // An id longer than the org's Durable Object records (256 characters): the real refusal, as a failing object.
    const unrecordable = `${grant.id}${"0".repeat(300)}`;
    const renameGrant = (from: string, to: string) =>
      env.DB.prepare("UPDATE mcp_grant SET id = ? WHERE id = ?").bind(to, from).run();
    await renameGrant(grant.id, unrecordable);
    await expectHttpError(
      await adminRequest("DELETE", `/orgs/${orgId}/mcp-grants/${unrecordable}`, { token: operator }),
      503,
      "temporarily_unavailable",
    );
    // Recorded first (revocations/grant-revocation.ts): the object has nothing, so D1 still says active. The operator's retry, once the object answers:
    await renameGrant(unrecordable, grant.id);
    expect(
      (await exports.McpRegistryService.liveGrants({ orgId, clientId: agent.clientId, server: "demo" })).map(
        (g) => g.id,
      ),
    ).toEqual([grant.id]);
    const retried = await adminRequest("DELETE", `/orgs/${orgId}/mcp-grants/${grant.id}`, { token: operator });
    expect(retried.status).toBe(200);
    const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
    expect(snapshot.entries.filter((e) => e.kind === "grant").map((e) => e.value)).toEqual([grant.id]);
  });
});

describe("operator review: removing a server ends its grants", () => {
  it("DELETE /mcp-servers/{name} revokes the server's grants, so a server registered again under the name starts with none", async () => {
    const { orgId, agent, token } = await setup();
    const name = `files-${crypto.randomUUID().slice(0, 8)}`;
    const register = () =>
      adminRequest("POST", `/orgs/${orgId}/mcp-servers`, {
        token: operator,
        body: {
          name,
          upstream: { binding: "DEMO" },
          scopes: ["documents:read"],
          tools: [{ name: "purge_documents", sensitivity: "sensitive" }],
          owner: "ops",
        },
      });
    expect((await register()).status).toBe(201);
    const request = await fileRequest(token, { server: name, tools: ["purge_documents"], reason: "old vendor" });
    const { grant } = (await (await approve(orgId, request.id)).json()) as { grant: GrantView };

    const removed = await adminRequest("DELETE", `/orgs/${orgId}/mcp-servers/${name}`, { token: operator });
    expect(removed.status).toBe(200);
    // The name is reused for another server: nobody approved anything at it yet.
    expect((await register()).status).toBe(201);
    expect(await exports.McpRegistryService.liveGrants({ orgId, clientId: agent.clientId, server: name })).toEqual([]);
    const listed = await adminRequest("GET", `/orgs/${orgId}/mcp-grants?status=revoked`, { token: operator });
    expect(((await listed.json()) as { grants: GrantView[] }).grants.map((g) => g.id)).toEqual([grant.id]);
    const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
    expect(snapshot.entries.filter((e) => e.kind === "grant").map((e) => e.value)).toEqual([grant.id]);
  });
  it("a request still pending for the removed server expires with it: approving it later is 409 ERR_ACCESS_REQUEST_DECIDED", async () => {
    const { orgId, agent, token } = await setup();
    const name = `files-${crypto.randomUUID().slice(0, 8)}`;
    const registered = await adminRequest("POST", `/orgs/${orgId}/mcp-servers`, {
      token: operator,
      body: {
        name,
        upstream: { binding: "DEMO" },
        scopes: ["documents:read"],
        tools: [{ name: "purge_documents", sensitivity: "sensitive" }],
        owner: "ops",
      },
    });
    expect(registered.status).toBe(201);
    const request = await fileRequest(token, { server: name, tools: ["purge_documents"], reason: "old vendor" });
    expect((await adminRequest("DELETE", `/orgs/${orgId}/mcp-servers/${name}`, { token: operator })).status).toBe(200);

    const refused = await expectHttpError(await approve(orgId, request.id), 409, "conflict");
    expect(refused.detail).toMatch(/^ERR_ACCESS_REQUEST_DECIDED:/);
    const read = await adminRequest("GET", requestsPath(orgId, request.id), { token: operator });
    expect(((await read.json()) as RequestView).status).toBe("expired");
    expect(await exports.McpRegistryService.liveGrants({ orgId, clientId: agent.clientId, server: name })).toEqual([]);
  });
  it("a request whose server is gone (removed before the expiry above, or while it was approved) is 409, no grant", async () => {
    const { orgId, agent, token } = await setup();
    const request = await fileRequest(token);
    // A row as the delete's race or an older delete leaves it: pending, naming a server the org no longer has.
    await env.DB.prepare("UPDATE mcp_access_request SET server_name = ? WHERE id = ?").bind("gone", request.id).run();
    const refused = await expectHttpError(await approve(orgId, request.id), 409, "conflict");
    expect(refused.detail).toMatch(/^ERR_MCP_SERVER_UNKNOWN:/);
    expect(await exports.McpRegistryService.liveGrants({ orgId, clientId: agent.clientId, server: "gone" })).toEqual(
      [],
    );
  });
});

describe("audit: who asked, who decided, what was granted", () => {
  it("records the request, the decision and the grant", async () => {
    const { orgId, agent, token } = await setup();
    const request = await fileRequest(token);
    const { grant } = (await (await approve(orgId, request.id)).json()) as { grant: GrantView };
    await expect
      .poll(async () => {
        const { results } = await env.AUDIT_DB.prepare(
          "SELECT kind, outcome, client_id, detail FROM audit_event WHERE org_id = ? AND kind LIKE 'mcp.%' ORDER BY occurred_at",
        )
          .bind(orgId)
          .all<{ kind: string; outcome: string; client_id: string; detail: string }>();
        return results.map((r) => [r.kind, r.outcome, r.client_id, JSON.parse(r.detail).action]);
      })
      .toEqual(
        expect.arrayContaining([
          ["mcp.access_request", "recorded", agent.clientId, "access_request.created"],
          ["mcp.access_request", "allow", agent.clientId, "access_request.approved"],
          ["mcp.grant", "issued", agent.clientId, "create"],
        ]),
      );
    expect(grant.id).toMatch(/^mg_/);
  });
});

describe("token exchange honours only live grants (an agent acting for a person)", () => {
  it("no exchange before approval; after it the delegated token names the grant; revoked, none again and a grant revocation is recorded", async () => {
    const orgId = await createTestOrg();
    const userId = await seedMember(orgId);
    const name = `crm-${crypto.randomUUID().slice(0, 8)}`;
    const resource = `${env.ISSUER}/mcp/${name}`;
    const registered = await adminRequest("POST", `/orgs/${orgId}/mcp-servers`, {
      token: operator,
      body: {
        name,
        upstream: { binding: "DEMO" },
        scopes: ["documents:read"],
        tools: [{ name: "purge_documents", sensitivity: "sensitive" }],
        owner: "ops",
      },
    });
    expect(registered.status).toBe(201);
    const agent = await registerAgent(orgId, { audiences: [AUDIENCE, resource] });
    const agentToken = await clientToken(agent);
    // The person's token holds the server's resource (RFC 8693: an exchange narrows, never widens, audiences).
    const subjectToken = await userToken(orgId, userId, { audience: [AUDIENCE, resource] });
    // Without a live grant: invalid_request (RFC 8693 §2.2.2, grants/token-exchange.ts).
    const tryExchange = () =>
      exchange(agent, delegationParams(subjectToken, agentToken, { resource, scope: "documents:read" }));
    await expectOAuthError(await tryExchange(), 400, "invalid_request");

    const request = await fileRequest(agentToken, {
      server: name,
      tools: ["purge_documents"],
      scopes: ["documents:read"],
      on_behalf_of: userId,
      reason: "act for the person",
    });
    const { grant } = (await (await approve(orgId, request.id)).json()) as { grant: GrantView };
    const issued = await tryExchange();
    expect(issued.status).toBe(200);
    const { access_token } = (await issued.json()) as { access_token: string };
    expect(decodeJwt(access_token)).toMatchObject({
      sub: userId,
      aud: resource,
      act: { sub: agent.clientId },
      grant_id: grant.delegation_grant_id,
    });

    const revoked = await adminRequest("DELETE", `/orgs/${orgId}/mcp-grants/${grant.id}`, { token: operator });
    expect(revoked.status).toBe(200);
    await expectOAuthError(await tryExchange(), 400, "invalid_request");
    const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
    expect(snapshot.entries.filter((e) => e.kind === "grant").map((e) => e.value)).toEqual([grant.delegation_grant_id]);
  });
});
