import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { bindAgent, saveConnection } from "../../workers/token/src/vault/connections.ts";
import { createProvider, deleteProvider } from "../../workers/token/src/vault/providers.ts";
import { registerAgent } from "./agent-rows.ts";
import { agentTokenAt, externalMcpServer, postToolsList } from "./mcp-calls.ts";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// A registered MCP server that names a vault provider (mcp_server.saved_connection):
// the gateway asks the real token Worker's VaultService for the org's saved
// token and sends it upstream instead of the agent's, so the agent never
// holds the third party's token. The registry row and the saved connection
// are written to the real D1 with the token Worker's own code, as the admin
// API and a connection flow would leave them (the test holds VAULT_KEY only
// for that; the gateway has no such binding). The third party's server is
// the one thing stood in for: an https host the test answers for.
const VAULT_KEY = (env as unknown as { VAULT_KEY: string }).VAULT_KEY;

let signer: TestSigner;
beforeAll(async () => {
  signer = await testSigner();
});
beforeEach(() => signer.publish());
afterEach(() => {
  vi.restoreAllMocks();
});

/** An org with a registered server (the DEMO binding, or an https URL) that names the org's provider, connected by the org. */
async function serverWithSavedConnection(upstreamToken: string, upstream?: string, resource = upstream) {
  const orgId = `org-${crypto.randomUUID()}`;
  const name = `crm-${crypto.randomUUID().slice(0, 8)}`;
  const provider = await createProvider(env.DB, VAULT_KEY, orgId, {
    name: "crm",
    // The provider's tokens are for the server they are sent to (docs/vault.md).
    resource: resource ?? "https://crm.example/mcp",
    authorizationEndpoint: "https://crm.example/authorize",
    tokenEndpoint: "https://crm.example/token",
    clientId: "our-client",
    clientSecret: "our-secret",
    scopes: ["read"],
  });
  if (!provider) throw new Error("provider not created");
  const connection = await saveConnection(env.DB, VAULT_KEY, {
    provider,
    ownerKind: "org",
    ownerId: orgId,
    tokens: { accessToken: upstreamToken, tokenType: "Bearer", refreshToken: null, expiresAt: null, scope: null },
    createdBy: "operator:test",
  });
  await env.DB.prepare(
    `INSERT INTO mcp_server (id, org_id, name, upstream_kind, upstream, resource, scopes, tools, description, owner, status, saved_connection, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'documents:read', ?, 'test', 'ops', 'active', ?, ?, ?)`,
  )
    .bind(
      `mcps_${crypto.randomUUID()}`,
      orgId,
      name,
      upstream ? "url" : "binding",
      upstream ?? "DEMO",
      `${env.ISSUER}/mcp/${name}`,
      JSON.stringify([{ name: "list_documents", sensitivity: "normal" }]),
      provider.id,
      Date.now(),
      Date.now(),
    )
    .run();
  return { orgId, name, provider, connection };
}

async function toolsList(name: string, orgId: string, clientId: string) {
  const token = await agentTokenAt(signer, name, orgId, clientId);
  return { response: await postToolsList(`/mcp/${name}`, token), token };
}

async function expectRefused(response: Response, reason: string) {
  expect(response.status).toBe(403);
  expect(await response.json()).toMatchObject({ error: "access_denied", error_description: reason });
}

describe("a registered MCP server served with a saved connection", () => {
  it("the external server receives the saved token, never the agent's", async () => {
    const received = externalMcpServer("crm-mcp.example.com");
    const upstreamToken = `crm-at-${crypto.randomUUID()}`;
    const { orgId, name, connection } = await serverWithSavedConnection(
      upstreamToken,
      "https://crm-mcp.example.com/mcp",
    );
    const agent = await registerAgent(orgId);
    await bindAgent(env.DB, orgId, connection.id, agent, "test");
    const { response, token } = await toolsList(name, orgId, agent);
    expect(response.status).toBe(200);
    expect(received).toHaveLength(1);
    const upstream = received[0] as Request;
    expect(upstream.url).toBe("https://crm-mcp.example.com/mcp");
    expect(upstream.headers.get("Authorization")).toBe(`Bearer ${upstreamToken}`);
    expect(JSON.stringify([...upstream.headers])).not.toContain(token);
  });

  it("a bound agent's call is allowed, the gateway and the vault audit the connection used, never its token", async () => {
    const upstreamToken = `crm-at-${crypto.randomUUID()}`;
    const { orgId, name, connection } = await serverWithSavedConnection(upstreamToken);
    const agent = await registerAgent(orgId);
    await bindAgent(env.DB, orgId, connection.id, agent, "test");
    const { response } = await toolsList(name, orgId, agent);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ result: { tools: expect.any(Array) } });
    // The gateway's allow names the connection whose token went upstream; the vault recorded the use.
    const rows = () =>
      env.AUDIT_DB.prepare("SELECT kind, outcome, detail FROM audit_event WHERE org_id = ? AND detail LIKE ?")
        .bind(orgId, `%${connection.id}%`)
        .all<{ kind: string; outcome: string; detail: string }>()
        .then((r) => r.results);
    await expect
      .poll(async () => (await rows()).map((row) => [row.kind, row.outcome]))
      .toEqual(
        expect.arrayContaining([
          ["gateway.decision", "allow"],
          ["vault.token_used", "issued"],
        ]),
      );
    expect(JSON.stringify(await rows())).not.toContain(upstreamToken);
  });

  it("refuses an agent not bound to the connection: 403 access_denied saved_connection_not_permitted", async () => {
    const { orgId, name } = await serverWithSavedConnection(`crm-at-${crypto.randomUUID()}`);
    const agent = await registerAgent(orgId);
    await expectRefused((await toolsList(name, orgId, agent)).response, "saved_connection_not_permitted");
  });

  it("fails closed once the provider is deleted: 403 access_denied no_saved_connection, nothing forwarded", async () => {
    const { orgId, name, provider, connection } = await serverWithSavedConnection(`crm-at-${crypto.randomUUID()}`);
    const agent = await registerAgent(orgId);
    await bindAgent(env.DB, orgId, connection.id, agent, "test");
    await deleteProvider(env.DB, orgId, provider.id);
    await expectRefused((await toolsList(name, orgId, agent)).response, "no_saved_connection");
  });

  it("an https upstream that is not the provider's resource gets no saved token: 502 upstream_forbidden, never fetched", async () => {
    // An org admin names the org's provider on a server at a host of their own: the saved token
    // (never readable through any API) would arrive there in the clear.
    const received = externalMcpServer("collector.example.com");
    const upstreamToken = `crm-at-${crypto.randomUUID()}`;
    const { orgId, name, connection } = await serverWithSavedConnection(
      upstreamToken,
      "https://collector.example.com/mcp",
      "https://crm-mcp.example.com/mcp",
    );
    const agent = await registerAgent(orgId);
    await bindAgent(env.DB, orgId, connection.id, agent, "operator:test");
    const { response } = await toolsList(name, orgId, agent);
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: string; error_description: string };
    expect(body.error).toBe("upstream_forbidden");
    expect(body.error_description).toMatch(/^ERR_SAVED_CONNECTION_ELSEWHERE:/);
    expect(received).toHaveLength(0);
  });

  it("ERR_SAVED_CONNECTION_ELSEWHERE is answered, and audited, only for a verified token of the org: others get RFC 6750's 401", async () => {
    // The server is picked by the token's unverified org_id: before the token was verified, anyone
    // naming the org learnt that its server sends the saved token elsewhere.
    const received = externalMcpServer("collector.example.com");
    const upstreamToken = `crm-at-${crypto.randomUUID()}`;
    const { orgId, name, connection } = await serverWithSavedConnection(
      upstreamToken,
      "https://collector.example.com/mcp",
      "https://crm-mcp.example.com/mcp",
    );
    const agent = await registerAgent(orgId);
    await bindAgent(env.DB, orgId, connection.id, agent, "operator:test");

    const anonymous = await postToolsList(`/mcp/${name}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("WWW-Authenticate")).toBe(
      `Bearer realm="mono-auth", scope="documents:read", resource_metadata="${env.ISSUER}${ENDPOINT.protectedResourceMetadata}/mcp/${name}"`,
    );
    expect(await anonymous.text()).not.toContain("ERR_SAVED_CONNECTION_ELSEWHERE");

    // The issuer's kid, another key's signature, claiming the org and the bound agent.
    const forger = await testSigner();
    const forged = await postToolsList(
      `/mcp/${name}`,
      await forger.sign(
        memberClaims({ aud: `${env.ISSUER}/mcp/${name}`, sub: agent, client_id: agent, org_id: orgId }),
        { kid: signer.kid },
      ),
    );
    expect(forged.status).toBe(401);
    expect(forged.headers.get("WWW-Authenticate")).toContain(
      'error="invalid_token", error_description="ERR_TOKEN_SIGNATURE:',
    );
    expect(await forged.text()).not.toContain("ERR_SAVED_CONNECTION_ELSEWHERE");

    const { response } = await toolsList(name, orgId, agent);
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({
      error: "upstream_forbidden",
      error_description:
        "ERR_SAVED_CONNECTION_ELSEWHERE: the server's upstream is not the resource its saved connection's tokens are for",
    });
    expect(received).toHaveLength(0);
    const denials = () =>
      env.AUDIT_DB.prepare(
        "SELECT kind, outcome, detail FROM audit_event WHERE org_id = ? AND detail LIKE '%ERR_SAVED_CONNECTION_ELSEWHERE%'",
      )
        .bind(orgId)
        .all<{ kind: string; outcome: string; detail: string }>()
        .then((r) => r.results);
    await expect
      .poll(async () => (await denials()).map((row) => [row.kind, row.outcome]))
      .toEqual([["gateway.decision", "deny"]]);
    expect(JSON.stringify(await denials())).not.toContain(upstreamToken);
  });
});
