import { env, exports } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { AGENT_API, MAX_PENDING_ACCESS_REQUESTS } from "../../shared/contracts/mcp.ts";
import { FIRST_PARTY_CLIENT_ID } from "../../shared/contracts/tokens.ts";
import { adminRequest } from "./admin-fixtures.ts";
import { mintedToken } from "./clients-fixtures.ts";
import { expectOAuthError, seedUser } from "./fixtures.ts";
import { createVersion, MEMBERS_READ, MEMBERS_READ_TESTS, publish } from "./policies-fixtures.ts";
import { seedMember } from "./token-exchange-fixtures.ts";
import {
  agentRequest,
  discovered,
  fileRequest,
  operatorToken,
  PURGE,
  type RequestView,
  requestsPath,
  setup,
} from "./mcp-access-fixtures.ts";

// The agent API (workers/token/src/mcp/agent-api.ts): discovery of the MCP
// servers and tools an agent may reach, and the access requests it files.

let operator: string;
beforeAll(async () => {
  operator = await operatorToken();
});

afterEach(() => {
  vi.restoreAllMocks();
});

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

    // A person's own token is the first-party app's (mcp.ts agentPrincipal).
    const person = await mintedToken(agent, { subject: await seedUser(), clientId: FIRST_PARTY_CLIENT_ID });
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

  it(`at most ${MAX_PENDING_ACCESS_REQUESTS} pending per agent, under concurrency: 429 rate_limited past it, until one is decided`, async () => {
    const { orgId, token } = await setup();
    const filed = await Promise.all(
      Array.from({ length: MAX_PENDING_ACCESS_REQUESTS + 5 }, () =>
        agentRequest("POST", AGENT_API.accessRequests, token, PURGE),
      ),
    );
    const created = filed.filter((r) => r.status === 201);
    expect(created).toHaveLength(MAX_PENDING_ACCESS_REQUESTS);
    for (const refused of filed.filter((r) => r.status !== 201)) {
      const error = (await expectOAuthError(refused, 429, "rate_limited")) as { error_description: string };
      expect(error.error_description).toMatch(/^ERR_ACCESS_REQUESTS_PENDING:/);
    }
    const first = (await (created[0] as Response).json()) as RequestView;
    const denied = await adminRequest("POST", `${requestsPath(orgId, first.id)}/deny`, { token: operator, body: {} });
    expect(denied.status).toBe(200);
    await fileRequest(token);
  });
});
