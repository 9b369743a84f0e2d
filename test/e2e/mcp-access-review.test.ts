// The operator review cycle over HTTP, with the official MCP TypeScript SDK
// (unmodified) as the agent: its ClientCredentialsProvider's token (the agent
// acting as itself) against /mcp/demo lists the tools and calls the harmless
// one; the sensitive one is refused until an operator approves the access
// request the agent filed at the agent API; revoking the grant refuses it
// again. Then the operator's CLI (`mono-auth mcp`, `mono-auth
// access-request`) registers a server the gateway fronts at /mcp/<name> and
// decides requests. The one thing the tests add to the SDK is a `fetch` that
// records each answer's status and WWW-Authenticate (the transport's
// documented `fetch` option). Waits poll with a generous cap, never a time.
import { fetchToken } from "@modelcontextprotocol/sdk/client/auth.js";
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { AuthorizationServerMetadata } from "@modelcontextprotocol/sdk/shared/auth.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { AGENT_API } from "../../shared/contracts/mcp.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { type InteropOperator, interopOperator } from "../support/interop.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: InteropOperator;
let metadata: AuthorizationServerMetadata;

interface Seen {
  method: string;
  status: number;
  challenge: string | null;
}

function recordingFetch(seen: Seen[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    seen.push({
      method: init?.method ?? "GET",
      status: response.status,
      challenge: response.headers.get("WWW-Authenticate"),
    });
    return response;
  };
}

async function outcome(
  attempt: Promise<unknown>,
): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
  return attempt.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** Retries `attempt` until `done` holds of its outcome, at most `tries` times (a cap, not a timing assertion). */
async function until<T>(attempt: () => Promise<T>, done: (value: T) => boolean, tries = 60): Promise<T> {
  let last = await attempt();
  for (let i = 1; i < tries && !done(last); i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    last = await attempt();
  }
  return last;
}

interface Agent {
  client_id: string;
  client_secret: string;
}

async function registerAgent(orgId: string, audiences: string[]): Promise<Agent> {
  return (await operator.registerClient(orgId, {
    client_name: "mcp agent",
    client_type: "agent",
    audiences,
  })) as Agent;
}

/** The agent's token for the agent API (the API audience), by client credentials. */
async function agentApiToken(agent: Agent): Promise<string> {
  const response = await system.fetch(ENDPOINT.token, {
    method: "POST",
    headers: {
      Authorization: `Basic ${btoa(`${agent.client_id}:${agent.client_secret}`)}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: GRANT_TYPE.clientCredentials, resource: `${system.origin}/api` }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function fileRequest(token: string, server: string): Promise<{ id: string; status: string }> {
  const response = await system.fetch(AGENT_API.accessRequests, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ server, tools: ["purge_documents"], reason: "quarterly clean-up", ttl_seconds: 3600 }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; status: string };
}

/** An SDK client connected to an MCP route with a ClientCredentialsProvider token for it (RFC 8707 resource). */
async function sdkClient(agent: Agent, url: URL, seen: Seen[]): Promise<Client> {
  const provider = new ClientCredentialsProvider({
    clientId: agent.client_id,
    clientSecret: agent.client_secret,
    expectedIssuer: system.origin,
  });
  provider.saveTokens(await fetchToken(provider, new URL(system.origin), { metadata, resource: url }));
  const client = new Client({ name: "mono-auth-mcp-review-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: recordingFetch(seen) }));
  return client;
}

const purge = (client: Client) => outcome(client.callTool({ name: "purge_documents", arguments: {} }));
const purgeText = (result: { ok: boolean; value?: unknown }) =>
  result.ok ? ((result.value as { content: { text: string }[] }).content[0]?.text ?? "") : "";

beforeAll(async () => {
  system = await startSystem();
  operator = await interopOperator(system);
  metadata = operator.as as unknown as AuthorizationServerMetadata;
}, 180_000);

afterAll(async () => {
  await system?.close();
});

describe("MCP SDK agent: request → approve → grant → use → revoke", () => {
  it("the sensitive tool is refused until an operator approves, works under the grant, and is refused once it is revoked", async () => {
    const mcpUrl = new URL(ENDPOINT.mcpDemo, system.origin);
    const orgId = await operator.createOrg(`mcp-review-${crypto.randomUUID()}`);
    const agent = await registerAgent(orgId, [mcpUrl.href, `${system.origin}/api`]);
    const seen: Seen[] = [];
    const client = await sdkClient(agent, mcpUrl, seen);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(["list_documents", "purge_documents"]);
      const listed = await client.callTool({ name: "list_documents", arguments: {} });
      expect((listed.content as { text: string }[])[0]?.text).toContain(orgId);

      // Refused: 403 insufficient_scope ERR_GRANT_REQUIRED naming the route's metadata (RFC 6750 §3.1, RFC 9728 §5.1).
      const refused = await purge(client);
      expect(refused.ok).toBe(false);
      const challenge = seen.filter((s) => s.method === "POST" && s.status === 403)[0]?.challenge ?? "";
      expect(challenge).toContain('error="insufficient_scope"');
      expect(challenge).toContain("ERR_GRANT_REQUIRED:");
      expect(challenge).toContain(`resource_metadata="${system.origin}/.well-known/oauth-protected-resource/mcp/demo"`);

      // The agent sees why, and asks.
      const apiToken = await agentApiToken(agent);
      const discovery = await system.fetch(AGENT_API.mcpServers, { headers: { Authorization: `Bearer ${apiToken}` } });
      const { servers } = (await discovery.json()) as {
        servers: { name: string; tools: { name: string; requires_grant: boolean }[] }[];
      };
      expect(servers.find((s) => s.name === "demo")?.tools).toContainEqual(
        expect.objectContaining({ name: "purge_documents", requires_grant: true }),
      );
      const request = await fileRequest(apiToken, "demo");
      expect(request.status).toBe("pending");

      // The operator sees it pending and approves it through the admin API.
      const pending = await operator.admin("GET", `/orgs/${orgId}/access-requests?status=pending`);
      const { access_requests } = (await pending.json()) as { access_requests: { id: string }[] };
      expect(access_requests.map((r) => r.id)).toEqual([request.id]);
      const approved = await operator.admin("POST", `/orgs/${orgId}/access-requests/${request.id}/approve`, {
        note: "once",
      });
      expect(approved.status).toBe(200);
      const { grant } = (await approved.json()) as { grant: { id: string; tools: string[] } };
      expect(grant.tools).toEqual(["purge_documents"]);

      // The same token now gets through: the gateway reads live grants within its revocation bound.
      const allowed = await until(
        () => purge(client),
        (result) => result.ok,
      );
      expect(purgeText(allowed)).toMatch(/^would purge \d+ documents$/);

      // Revoked: a revocation event, then refused again.
      const revoked = await operator.admin("DELETE", `/orgs/${orgId}/mcp-grants/${grant.id}`);
      expect(revoked.status).toBe(200);
      const before = seen.length;
      const again = await until(
        () => purge(client),
        (result) => !result.ok,
      );
      expect(again.ok).toBe(false);
      const last403 = seen.slice(before).filter((s) => s.status === 403);
      expect(last403.at(-1)?.challenge).toContain("ERR_GRANT_REQUIRED:");
      const events = await operator.admin("GET", `/orgs/${orgId}/mcp-grants?status=revoked`);
      expect(((await events.json()) as { grants: { id: string }[] }).grants.map((g) => g.id)).toEqual([grant.id]);
    } finally {
      await client.close();
    }
  }, 120_000);
});

describe("operator CLI: mono-auth mcp and mono-auth access-request", () => {
  let cli: OperatorCli;
  let orgId: string;
  const name = `crm-${crypto.randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    cli = await operatorCli(system, "mcp-review");
    orgId = (await cli.json<{ id: string }>("org", "create", "--name", `cli-${name}`)).id;
  }, 60_000);

  it("mcp register fronts a server at /mcp/<name> (here on the DEMO binding) and mcp list shows it after the demo", async () => {
    const server = await cli.json<{ name: string; resource: string; resource_metadata: string; tools: unknown[] }>(
      ...["mcp", "register", "--org", orgId, "--name", name, "--upstream", "binding:DEMO"],
      ...["--tool", "list_documents", "--tool", "purge_documents:sensitive", "--owner", "sales-ops"],
      ...["--scopes", "documents:read", "--description", "customer records"],
    );
    expect(server).toMatchObject({
      name,
      resource: `${system.origin}/mcp/${name}`,
      resource_metadata: `${system.origin}/.well-known/oauth-protected-resource/mcp/${name}`,
      tools: [
        { name: "list_documents", sensitivity: "normal" },
        { name: "purge_documents", sensitivity: "sensitive" },
      ],
    });
    const { servers } = await cli.json<{ servers: { name: string }[] }>("mcp", "list", "--org", orgId);
    expect(servers.map((s) => s.name)).toEqual(["demo", name]);
    const human = await cli.cli("mcp", "list", "--org", orgId);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`${system.origin}/mcp/${name}`);

    // The gateway fronts it: its metadata, and an agent of the org with a token for it (RFC 8707).
    const prm = await system.fetch(`/.well-known/oauth-protected-resource/mcp/${name}`);
    expect(((await prm.json()) as { resource: string }).resource).toBe(`${system.origin}/mcp/${name}`);
    const agent = await registerAgent(orgId, [`${system.origin}/mcp/${name}`, `${system.origin}/api`]);
    const seen: Seen[] = [];
    const client = await sdkClient(agent, new URL(`/mcp/${name}`, system.origin), seen);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["list_documents", "purge_documents"]);
      expect((await purge(client)).ok).toBe(false);
    } finally {
      await client.close();
    }

    const duplicate = await cli.cli(
      ...["mcp", "register", "--org", orgId, "--name", name, "--upstream", "binding:DEMO"],
      ...["--tool", "x", "--owner", "o", "--json"],
    );
    expect(duplicate.code).toBe(1);
    expect(duplicate.stdout).toBe("");
    expect(duplicate.stderr).toMatch(/409 conflict\): ERR_MCP_SERVER_EXISTS/);
  }, 120_000);

  it("access-request list shows pending requests; deny and approve (narrowed TTL) decide them; a second decision exits 1", async () => {
    const agent = await registerAgent(orgId, [`${system.origin}/api`]);
    const token = await agentApiToken(agent);
    const first = await fileRequest(token, "demo");
    const second = await fileRequest(token, name);

    const { access_requests } = await cli.json<{ access_requests: { id: string; status: string }[] }>(
      ...["access-request", "list", "--org", orgId, "--status", "pending"],
    );
    expect(access_requests.map((r) => r.id).sort()).toEqual([first.id, second.id].sort());
    const human = await cli.cli("access-request", "list", "--org", orgId);
    expect(human.stdout).toContain(first.id);

    const denied = await cli.json<{ access_request: { status: string } }>(
      ...["access-request", "deny", first.id, "--org", orgId, "--note", "not this one"],
    );
    expect(denied.access_request.status).toBe("denied");

    const approved = await cli.json<{
      access_request: { status: string };
      grant: { expires_at: string; tools: string[] };
    }>(...["access-request", "approve", second.id, "--org", orgId, "--ttl", "10m"]);
    expect(approved.access_request.status).toBe("approved");
    expect(approved.grant.tools).toEqual(["purge_documents"]);
    expect(Date.parse(approved.grant.expires_at) - Date.now()).toBeLessThanOrEqual(600_000);

    const again = await cli.cli("access-request", "approve", second.id, "--org", orgId, "--json");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/409 conflict\): ERR_ACCESS_REQUEST_DECIDED/);
    const bad = await cli.cli("access-request", "list", "--org", orgId, "--status", "maybe");
    expect(bad.code).not.toBe(0);
  }, 120_000);
});
