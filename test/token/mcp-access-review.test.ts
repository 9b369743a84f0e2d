import { env, exports } from "cloudflare:workers";
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { ACCESS_EVENT_JWT_TYP, AGENT_API } from "../../shared/contracts/mcp.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { clientToken, createTestOrg, mintedToken, registerTestClient, type TestClient } from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError, seedUser } from "./fixtures.ts";
import { createVersion, MEMBERS_READ, MEMBERS_READ_TESTS, publish } from "./policies-fixtures.ts";
import { delegationParams, exchange, registerAgent, seedMember, userToken } from "./token-exchange-fixtures.ts";

// The operator review cycle of agent access (workers/token/src/mcp/review.ts):
// an agent files a request through the agent API, an operator approves
// (narrowing) or denies it through the admin API, the approval is a grant the
// gateway reads (McpRegistryService.liveGrants), revoking it is a revocation
// event, and a request nobody decides expires.

interface RequestView {
  id: string;
  org_id: string;
  client_id: string;
  server: string;
  resource: string;
  scopes: string[];
  tools: string[];
  on_behalf_of: string;
  reason: string;
  ttl_seconds: number;
  status: string;
  decided_by: string | null;
  grant_id: string | null;
}

interface GrantView {
  id: string;
  client_id: string;
  server: string;
  tools: string[];
  scopes: string[];
  on_behalf_of: string;
  status: string;
  expires_at: string;
  delegation_grant_id: string | null;
  revoked_at: string | null;
}

let operator: string;
beforeAll(async () => {
  operator = await adminToken();
});

afterEach(() => {
  vi.restoreAllMocks();
});

function agentRequest(method: string, path: string, token: string | undefined, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

async function setup() {
  const orgId = await createTestOrg();
  const agent = await registerTestClient({ orgId, scopes: ["documents:read"], audiences: [AUDIENCE] });
  const token = await clientToken(agent);
  return { orgId, agent, token };
}

const PURGE = { server: "demo", tools: ["purge_documents"], reason: "clean up the test org", ttl_seconds: 3600 };

async function fileRequest(token: string, body: Record<string, unknown> = PURGE): Promise<RequestView> {
  const response = await agentRequest("POST", AGENT_API.accessRequests, token, body);
  expect(response.status).toBe(201);
  return (await response.json()) as RequestView;
}

const requestsPath = (orgId: string, id = "") => `/orgs/${orgId}/access-requests${id ? `/${id}` : ""}`;

async function approve(orgId: string, id: string, body: Record<string, unknown> = {}) {
  return adminRequest("POST", `${requestsPath(orgId, id)}/approve`, { token: operator, body });
}

async function discovered(token: string) {
  const response = await agentRequest("GET", AGENT_API.mcpServers, token);
  expect(response.status).toBe(200);
  return (await response.json()) as {
    servers: {
      name: string;
      resource: string;
      tools: { name: string; callable: boolean; requires_grant: boolean }[];
      grants: { id: string }[];
    }[];
  };
}

describe("agent API: discovery", () => {
  it("lists the demo with list_documents callable and purge_documents needing a grant", async () => {
    const { token } = await setup();
    const { servers } = await discovered(token);
    expect(servers).toEqual([
      {
        name: "demo",
        resource: `${env.ISSUER}${ENDPOINT.mcpDemo}`,
        resource_metadata: `${env.ISSUER}${ENDPOINT.protectedResourceMetadata}${ENDPOINT.mcpDemo}`,
        scopes: ["documents:read"],
        description: expect.any(String),
        tools: [
          { name: "list_documents", sensitivity: "normal", callable: true, requires_grant: false },
          { name: "purge_documents", sensitivity: "sensitive", callable: false, requires_grant: true },
        ],
        grants: [],
      },
    ]);
  });

  it("lists a registered server with what the default policy allows of it, and leaves out disabled ones", async () => {
    const { orgId, token } = await setup();
    for (const [name, status] of [
      ["crm", "active"],
      ["old", "disabled"],
    ]) {
      const created = await adminRequest("POST", `/orgs/${orgId}/mcp-servers`, {
        token: operator,
        body: {
          name,
          upstream: "https://crm.example.com",
          tools: [{ name: "find" }, { name: "wipe", sensitivity: "sensitive" }],
          owner: "ops",
          status,
        },
      });
      expect(created.status).toBe(201);
    }
    const { servers } = await discovered(token);
    expect(servers.map((s) => s.name)).toEqual(["demo", "crm"]);
    expect(servers[1]).toMatchObject({
      resource: `${env.ISSUER}/mcp/crm`,
      tools: [
        { name: "find", sensitivity: "normal", callable: true, requires_grant: false },
        { name: "wipe", sensitivity: "sensitive", callable: false, requires_grant: true },
      ],
    });
  });

  it("filters by the org's published policy: a server the policy denies the agent is left out", async () => {
    const { orgId, token } = await setup();
    // A published policy with no MCP rule (documents only): default deny for every MCP server.
    const version = await createVersion(operator, orgId, MEMBERS_READ, MEMBERS_READ_TESTS);
    await publish(operator, orgId, version.version);
    expect((await discovered(token)).servers).toEqual([]);
  });

  it("401 without a token, 401 invalid_token ERR_TOKEN_AUD for an MCP server's token, 403 ERR_NOT_AN_AGENT for a person's token", async () => {
    const { agent } = await setup();
    const anonymous = await agentRequest("GET", AGENT_API.mcpServers, undefined);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("WWW-Authenticate")).toBe('Bearer realm="mono-auth"');

    const other = await mintedToken(agent, { audience: "https://reports.example.test/api" });
    const wrongAudience = await agentRequest("GET", AGENT_API.mcpServers, other);
    expect(wrongAudience.status).toBe(401);
    expect(((await wrongAudience.json()) as { error_description: string }).error_description).toMatch(
      /^ERR_TOKEN_AUD:/,
    );

    const person = await mintedToken(agent, { subject: await seedUser() });
    const refused = await agentRequest("GET", AGENT_API.mcpServers, person);
    await expectOAuthError(refused, 403, "forbidden");
  });
});

describe("agent API: access requests", () => {
  it("files a pending request the org's operators see; the agent sees its own", async () => {
    const { orgId, agent, token } = await setup();
    const request = await fileRequest(token);
    expect(request).toMatchObject({
      org_id: orgId,
      client_id: agent.clientId,
      server: "demo",
      resource: `${env.ISSUER}${ENDPOINT.mcpDemo}`,
      tools: ["purge_documents"],
      scopes: [],
      on_behalf_of: "org",
      reason: PURGE.reason,
      ttl_seconds: 3600,
      status: "pending",
      decided_by: null,
      grant_id: null,
    });
    expect(request.id).toMatch(/^ar_/);

    const listed = await adminRequest("GET", `${requestsPath(orgId)}?status=pending`, { token: operator });
    expect(((await listed.json()) as { access_requests: RequestView[] }).access_requests.map((r) => r.id)).toEqual([
      request.id,
    ]);
    const own = await agentRequest("GET", AGENT_API.accessRequests, token);
    expect(((await own.json()) as { access_requests: RequestView[] }).access_requests.map((r) => r.id)).toEqual([
      request.id,
    ]);
  });

  it.each([
    [{ ...PURGE, server: "nope" }, /^server: no such active MCP server/],
    [{ ...PURGE, tools: ["drop_tables"] }, /^tools: drop_tables is not a tool of demo/],
    [{ ...PURGE, tools: [], scopes: ["profile"] }, /^scopes: demo does not understand profile/],
    [{ server: "demo", reason: "x" }, /^tools, scopes: ask for at least one/],
    [{ ...PURGE, reason: undefined }, /^reason: required/],
    [{ ...PURGE, ttl_seconds: 10 }, /^ttl_seconds: must be an integer from 60/],
    [{ ...PURGE, on_behalf_of: "user-not-a-member" }, /^on_behalf_of: not a member of this org/],
    [{ ...PURGE, extra: 1 }, /^extra: unknown field/],
  ])("400 invalid_body naming the field: %j", async (body, detail) => {
    const { token } = await setup();
    const response = await agentRequest("POST", AGENT_API.accessRequests, token, body);
    const error = (await expectOAuthError(response, 400, "invalid_body")) as { error_description: string };
    expect(error.error_description).toMatch(detail);
  });

  it("400 invalid_body for a body that is not a JSON object; 413 payload_too_large past 16 KiB", async () => {
    const { token } = await setup();
    const post = (body: string, type = "application/json") =>
      exports.default.fetch(
        new Request(`http://localhost${AGENT_API.accessRequests}`, {
          method: "POST",
          headers: { Authorization: `Bearer ${token}`, "Content-Type": type },
          body,
        }),
      );
    await expectOAuthError(await post("{not json"), 400, "invalid_body");
    await expectOAuthError(await post("[]"), 400, "invalid_body");
    await expectOAuthError(await post("{}", "text/plain"), 400, "invalid_body");
    await expectOAuthError(await post(JSON.stringify({ reason: "x".repeat(17 * 1024) })), 413, "payload_too_large");
  });

  it("asks on behalf of a member of the org", async () => {
    const { orgId, token } = await setup();
    const userId = await seedMember(orgId);
    const request = await fileRequest(token, { ...PURGE, scopes: ["documents:read"], on_behalf_of: userId });
    expect(request.on_behalf_of).toBe(userId);
  });
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
      "invalid_body",
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
});

describe("notifications: the org's signed webhook", () => {
  it("refuses a webhook URL that is not public https (400 invalid_body)", async () => {
    const orgId = await createTestOrg();
    for (const url of ["http://hooks.example.com", "https://192.168.1.1/hook", "not a url"]) {
      const response = await adminRequest("PUT", `/orgs/${orgId}/access-webhook`, { token: operator, body: { url } });
      expect((await expectHttpError(response, 400, "invalid_body")).detail).toMatch(/^url:/);
    }
  });

  it("POSTs a JWS signed with the issuer's key (typ mono-access-event+jwt) on a new request and on its decision", async () => {
    const { orgId, token } = await setup();
    const hook = "https://hooks.example.com/mono-auth";
    const set = await adminRequest("PUT", `/orgs/${orgId}/access-webhook`, { token: operator, body: { url: hook } });
    expect(await set.json()).toEqual({ url: hook });
    // The receiver is outside the system: stand in for it at the network.
    const received: { url: string; contentType: string | null; body: string }[] = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      if (url !== hook) return realFetch(input, init);
      received.push({ url, contentType: new Headers(init?.headers).get("Content-Type"), body: String(init?.body) });
      return new Response(null, { status: 204 });
    });
    const request = await fileRequest(token);
    await expect.poll(() => received.length).toBe(1);
    await approve(orgId, request.id);
    await expect.poll(() => received.length).toBe(2);

    const jwks = (await (await exports.default.fetch(`http://localhost${ENDPOINT.jwks}`)).json()) as JSONWebKeySet;
    const events: string[] = [];
    for (const delivery of received) {
      expect(delivery.contentType).toBe("application/jwt");
      const { payload, protectedHeader } = await jwtVerify(delivery.body, createLocalJWKSet(jwks), {
        issuer: env.ISSUER,
        audience: hook,
        typ: ACCESS_EVENT_JWT_TYP,
      });
      expect(protectedHeader.alg).toBe("ES256");
      expect(payload.org_id).toBe(orgId);
      const [type, event] = Object.entries(payload.events as Record<string, { access_request: RequestView }>)[0] ?? [];
      expect(event?.access_request.id).toBe(request.id);
      events.push(type as string);
    }
    expect(events).toEqual(["access_request.created", "access_request.approved"]);
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
