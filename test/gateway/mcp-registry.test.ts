import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { gatewayFetch, memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// What the gateway makes of the MCP registry (workers/gateway/src/mcp/): a
// sensitive tool refused to an agent until a live grant names it, and the
// servers orgs register fronted at /mcp/<name> with their RFC 9728 metadata.
// Registry rows and grants are written to the real D1 the token Worker reads
// (its McpRegistryService answers the gateway); the staleness bound is 0 here.
const ORIGIN = "http://localhost:8787";
const PRM = `${env.ISSUER}${ENDPOINT.protectedResourceMetadata}`;

let signer: TestSigner;
beforeAll(async () => {
  signer = await testSigner();
});
beforeEach(() => signer.publish());

let nextId = 1;
function rpc(method: string, params?: Record<string, unknown>) {
  return { jsonrpc: "2.0", id: nextId++, method, ...(params ? { params } : {}) };
}

const purge = () => rpc("tools/call", { name: "purge_documents", arguments: {} });
const list = () => rpc("tools/call", { name: "list_documents", arguments: {} });

function post(path: string, body: unknown, token?: string) {
  return gatewayFetch(`${ORIGIN}${path}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
}

/** An agent acting as itself: client credentials make `sub` its client_id. */
function agentToken(orgId: string, clientId: string, audience: string, extra: Record<string, unknown> = {}) {
  return signer.sign(memberClaims({ aud: audience, sub: clientId, client_id: clientId, org_id: orgId, ...extra }));
}

async function grant(orgId: string, clientId: string, server: string, tools: string, onBehalfOf = "org") {
  const id = `mg_${crypto.randomUUID()}`;
  await env.DB.prepare(
    `INSERT INTO mcp_grant (id, org_id, client_id, server_name, resource, scopes, tools, on_behalf_of, status, expires_at, created_by, created_at)
     VALUES (?, ?, ?, ?, ?, '', ?, ?, 'active', ?, 'test-operator', ?)`,
  )
    .bind(
      id,
      orgId,
      clientId,
      server,
      `${env.ISSUER}/mcp/${server}`,
      tools,
      onBehalfOf,
      Date.now() + 3_600_000,
      Date.now(),
    )
    .run();
  return id;
}

async function expectGrantRequired(response: Response, metadata: string) {
  expect(response.status).toBe(403);
  const challenge = response.headers.get("WWW-Authenticate") ?? "";
  expect(challenge).toContain('error="insufficient_scope"');
  expect(challenge).toContain("ERR_GRANT_REQUIRED:");
  expect(challenge).toContain(`resource_metadata="${metadata}"`);
  expect(await response.json()).toMatchObject({
    error: "insufficient_scope",
    error_description: expect.stringMatching(/^ERR_GRANT_REQUIRED:/),
  });
}

async function resultText(response: Response): Promise<string> {
  expect(response.status).toBe(200);
  const body = (await response.json()) as { result?: { content: { text: string }[] } };
  return body.result?.content[0]?.text ?? "";
}

describe("the demo's sensitive tool: refused to an agent until a live grant names it", () => {
  const demo = `${env.ISSUER}${ENDPOINT.mcpDemo}`;
  const metadata = `${PRM}${ENDPOINT.mcpDemo}`;

  it("an agent holding a token about a person without `act` (an ID-JAG's jwt-bearer) is gated too, and the person must be allowed the tool", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const agent = `mac_${crypto.randomUUID()}`;
    // What jwt-bearer mints from an ID-JAG: sub the person, client_id the agent, no act.
    const forPerson = (sub: string, roles: string[]) =>
      signer.sign(memberClaims({ aud: demo, sub, client_id: agent, org_id: orgId, roles }));
    const owner = await forPerson("user-owner", ["owner"]);
    const member = await forPerson("user-member", ["member"]);
    // The owner may purge, but not through an agent no operator approved for them.
    await expectGrantRequired(await post(ENDPOINT.mcpDemo, purge(), owner), metadata);
    // A grant for the agent acting for the org is not one for this person.
    await grant(orgId, agent, "demo", "purge_documents");
    await expectGrantRequired(await post(ENDPOINT.mcpDemo, purge(), owner), metadata);
    await grant(orgId, agent, "demo", "purge_documents", "user-owner");
    expect(await resultText(await post(ENDPOINT.mcpDemo, purge(), owner))).toMatch(/^would purge \d+ documents$/);
    // The member may not purge on their own, so no grant lets an agent do it for them.
    await grant(orgId, agent, "demo", "purge_documents", "user-member");
    const refused = await post(ENDPOINT.mcpDemo, purge(), member);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: "access_denied" });
  });

  it("403 insufficient_scope ERR_GRANT_REQUIRED; with a grant it works; revoked or expired, refused again", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const clientId = `mac_${crypto.randomUUID()}`;
    const token = await agentToken(orgId, clientId, demo);
    expect(await resultText(await post(ENDPOINT.mcpDemo, list(), token))).toContain("[");
    await expectGrantRequired(await post(ENDPOINT.mcpDemo, purge(), token), metadata);

    const id = await grant(orgId, clientId, "demo", "purge_documents");
    expect(await resultText(await post(ENDPOINT.mcpDemo, purge(), token))).toMatch(/^would purge \d+ documents$/);
    // Audited: the refusal with its code, the use with the grant it rested on.
    const decisions = () =>
      env.AUDIT_DB.prepare(
        "SELECT outcome, detail FROM audit_event WHERE org_id = ? AND kind = 'gateway.decision' AND detail LIKE '%purge_documents%'",
      )
        .bind(orgId)
        .all<{ outcome: string; detail: string }>()
        .then((r) =>
          r.results.map((row) => [row.outcome, JSON.parse(row.detail).error ?? JSON.parse(row.detail).mcp_grant]),
        );
    await expect.poll(decisions).toEqual(
      expect.arrayContaining([
        ["deny", "ERR_GRANT_REQUIRED"],
        ["allow", id],
      ]),
    );

    await env.DB.prepare("UPDATE mcp_grant SET status = 'revoked', revoked_at = ? WHERE id = ?")
      .bind(Date.now(), id)
      .run();
    await expectGrantRequired(await post(ENDPOINT.mcpDemo, purge(), token), metadata);

    const expired = await grant(orgId, clientId, "demo", "purge_documents");
    await env.DB.prepare("UPDATE mcp_grant SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1, expired)
      .run();
    await expectGrantRequired(await post(ENDPOINT.mcpDemo, purge(), token), metadata);
  });

  it("a grant covers only its agent, its tools and its principal", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const clientId = `mac_${crypto.randomUUID()}`;
    const token = await agentToken(orgId, clientId, demo);
    await grant(orgId, `mac_${crypto.randomUUID()}`, "demo", "purge_documents");
    await grant(orgId, clientId, "demo", "list_documents");
    await grant(orgId, clientId, "demo", "purge_documents", "user-someone");
    await grant(`org-${crypto.randomUUID()}`, clientId, "demo", "purge_documents");
    await expectGrantRequired(await post(ENDPOINT.mcpDemo, purge(), token), metadata);
  });

  it("a delegated agent needs the person's grant, and then the person must be allowed the tool (ASVS 8.3.3)", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const agent = `mac_${crypto.randomUUID()}`;
    const act = { sub: agent, client_id: agent };
    const owner = await signer.sign(
      memberClaims({ aud: demo, sub: "user-owner", org_id: orgId, client_id: agent, roles: ["owner"], act }),
    );
    const member = await signer.sign(
      memberClaims({ aud: demo, sub: "user-member", org_id: orgId, client_id: agent, act }),
    );
    await expectGrantRequired(await post(ENDPOINT.mcpDemo, purge(), owner), metadata);
    await grant(orgId, agent, "demo", "purge_documents", "user-owner");
    await grant(orgId, agent, "demo", "purge_documents", "user-member");
    expect(await resultText(await post(ENDPOINT.mcpDemo, purge(), owner))).toMatch(/^would purge/);
    // The member may not purge on their own, so no grant lets an agent do it for them.
    const refused = await post(ENDPOINT.mcpDemo, purge(), member);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: "access_denied" });
  });

  it("a person's own token is not gated: the policy decides (an owner purges, a member is refused)", async () => {
    const owner = await signer.sign(memberClaims({ aud: demo, roles: ["owner"] }));
    expect(await resultText(await post(ENDPOINT.mcpDemo, purge(), owner))).toMatch(/^would purge/);
    const member = await post(ENDPOINT.mcpDemo, purge(), await signer.sign(memberClaims({ aud: demo })));
    expect(member.status).toBe(403);
    expect(await member.json()).toMatchObject({ error: "access_denied" });
  });
});

describe("a registered MCP server, fronted at /mcp/<name>", () => {
  async function register(orgId: string, name: string, status = "active") {
    await env.DB.prepare(
      `INSERT INTO mcp_server (id, org_id, name, upstream_kind, upstream, resource, scopes, tools, description, owner, status, created_at, updated_at)
       VALUES (?, ?, ?, 'binding', 'DEMO', ?, 'documents:read', ?, 'test', 'ops', ?, ?, ?)`,
    )
      .bind(
        `mcps_${crypto.randomUUID()}`,
        orgId,
        name,
        `${env.ISSUER}/mcp/${name}`,
        JSON.stringify([
          { name: "list_documents", sensitivity: "normal" },
          { name: "purge_documents", sensitivity: "sensitive" },
        ]),
        status,
        Date.now(),
        Date.now(),
      )
      .run();
  }

  const fresh = () => `crm-${crypto.randomUUID().slice(0, 8)}`;

  it("serves its RFC 9728 metadata; a name no org registered (or only disabled) is 404", async () => {
    const name = fresh();
    await register(`org-${crypto.randomUUID()}`, name);
    const response = await gatewayFetch(`${ORIGIN}${ENDPOINT.protectedResourceMetadata}/mcp/${name}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      resource: `${env.ISSUER}/mcp/${name}`,
      authorization_servers: [env.ISSUER],
      scopes_supported: ["documents:read"],
      bearer_methods_supported: ["header"],
      dpop_signing_alg_values_supported: ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
    });
    const disabled = fresh();
    await register(`org-${crypto.randomUUID()}`, disabled, "disabled");
    for (const path of [`/mcp/${fresh()}`, `/mcp/${disabled}`]) {
      const metadataMiss = await gatewayFetch(`${ORIGIN}${ENDPOINT.protectedResourceMetadata}${path}`);
      expect(metadataMiss.status, path).toBe(404);
      const routeMiss = await post(path, rpc("tools/list"));
      expect(routeMiss.status, path).toBe(404);
      expect(await routeMiss.json()).toMatchObject({ error: "not_found" });
    }
  });

  it("401 without a token names its metadata and scope; its org's agent lists and calls tools through the DEMO binding", async () => {
    const name = fresh();
    const orgId = `org-${crypto.randomUUID()}`;
    await register(orgId, name);
    const anonymous = await post(`/mcp/${name}`, rpc("tools/list"));
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("WWW-Authenticate")).toBe(
      `Bearer realm="mono-auth", scope="documents:read", resource_metadata="${PRM}/mcp/${name}"`,
    );
    const clientId = `mac_${crypto.randomUUID()}`;
    const token = await agentToken(orgId, clientId, `${env.ISSUER}/mcp/${name}`);
    const tools = await post(`/mcp/${name}`, rpc("tools/list"), token);
    expect(tools.status).toBe(200);
    expect(await resultText(await post(`/mcp/${name}`, list(), token))).toContain("[");
    await expectGrantRequired(await post(`/mcp/${name}`, purge(), token), `${PRM}/mcp/${name}`);
    await grant(orgId, clientId, name, "purge_documents");
    expect(await resultText(await post(`/mcp/${name}`, purge(), token))).toMatch(/^would purge/);
  });

  it("a 401 names every org's scopes for the name, however the unverified token names an org; the org's own only once verified", async () => {
    // The route is picked by the token's org_id before it is verified: a challenge naming that org's
    // scopes told anyone who wrote a token by hand whether, and with what, another org registered the name.
    const name = fresh();
    const [mine, theirs] = [`org-${crypto.randomUUID()}`, `org-${crypto.randomUUID()}`];
    await register(mine, name);
    await register(theirs, name);
    await env.DB.prepare("UPDATE mcp_server SET scopes = 'crm:secret-scope' WHERE org_id = ? AND name = ?")
      .bind(theirs, name)
      .run();
    const scopeOf = (response: Response) => /scope="([^"]*)"/.exec(response.headers.get("WWW-Authenticate") ?? "")?.[1];
    const anonymous = await post(`/mcp/${name}`, rpc("tools/list"));
    expect(anonymous.status).toBe(401);
    expect(scopeOf(anonymous)?.split(" ").sort()).toEqual(["crm:secret-scope", "documents:read"]);
    const forger = await testSigner();
    const forgedToken = await forger.sign(
      memberClaims({ aud: `${env.ISSUER}/mcp/${name}`, sub: "mac_x", client_id: "mac_x", org_id: theirs }),
      { kid: signer.kid },
    );
    const forged = await post(`/mcp/${name}`, rpc("tools/list"), forgedToken);
    expect(forged.status).toBe(401);
    expect(forged.headers.get("WWW-Authenticate")).toContain(
      'error="invalid_token", error_description="ERR_TOKEN_SIGNATURE:',
    );
    expect(scopeOf(forged)).toBe(scopeOf(anonymous));
    // Verified as theirs, without the scope: RFC 6750 §3.1 names the org's own.
    const genuine = await post(
      `/mcp/${name}`,
      rpc("tools/list"),
      await agentToken(theirs, `mac_${crypto.randomUUID()}`, `${env.ISSUER}/mcp/${name}`),
    );
    expect(genuine.status).toBe(403);
    expect(genuine.headers.get("WWW-Authenticate")).toContain('error="insufficient_scope"');
    expect(scopeOf(genuine)).toBe("crm:secret-scope");
  });

  it("audience = its resource identifier: a token for the demo is 401 ERR_TOKEN_AUD here", async () => {
    const name = fresh();
    const orgId = `org-${crypto.randomUUID()}`;
    await register(orgId, name);
    const token = await agentToken(orgId, `mac_${crypto.randomUUID()}`, `${env.ISSUER}${ENDPOINT.mcpDemo}`);
    const response = await post(`/mcp/${name}`, rpc("tools/list"), token);
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toContain("ERR_TOKEN_AUD:");
  });

  it("404 ERR_MCP_SERVER_UNKNOWN for a valid token of an org without the server; disabling it stops the route", async () => {
    const name = fresh();
    const orgId = `org-${crypto.randomUUID()}`;
    await register(orgId, name);
    const other = await agentToken(
      `org-${crypto.randomUUID()}`,
      `mac_${crypto.randomUUID()}`,
      `${env.ISSUER}/mcp/${name}`,
    );
    const refused = await post(`/mcp/${name}`, rpc("tools/list"), other);
    expect(refused.status).toBe(404);
    expect(await refused.json()).toMatchObject({
      error: "not_found",
      error_description: expect.stringMatching(/^ERR_MCP_SERVER_UNKNOWN:/),
    });
    const token = await agentToken(orgId, `mac_${crypto.randomUUID()}`, `${env.ISSUER}/mcp/${name}`);
    expect((await post(`/mcp/${name}`, rpc("tools/list"), token)).status).toBe(200);
    await env.DB.prepare("UPDATE mcp_server SET status = 'disabled' WHERE org_id = ? AND name = ?")
      .bind(orgId, name)
      .run();
    const gone = await post(`/mcp/${name}`, rpc("tools/list"), token);
    expect(gone.status).toBe(404);
  });
});

describe("the agent API's route", () => {
  it("passes /agent/v1/* to the token Worker, which asks for an agent's token (RFC 6750 §3)", async () => {
    const response = await gatewayFetch(`${ORIGIN}${ENDPOINT.agentApi}/mcp-servers`);
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="mono-auth"');
  });
});
