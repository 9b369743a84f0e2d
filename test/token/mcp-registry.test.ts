import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { basicAuthorization, createTestOrg, registerTestClient } from "./clients-fixtures.ts";
import { expectOAuthError, tokenRequest } from "./fixtures.ts";

// The MCP server registry of an org (workers/token/src/admin/mcp-servers.ts,
// workers/token/src/mcp/registry.ts) and what the gateway reads of it
// (McpRegistryService).

interface ServerView {
  id: string;
  org_id: string;
  name: string;
  resource: string;
  resource_metadata: string;
  upstream: string | { binding: string };
  scopes: string[];
  tools: { name: string; sensitivity: string }[];
  description: string;
  owner: string;
  status: string;
  built_in: boolean;
}

const CRM = {
  name: "crm",
  upstream: "https://crm.example.com/mcp",
  scopes: ["documents:read"],
  tools: [
    { name: "find_customer", sensitivity: "normal" },
    { name: "delete_customer", sensitivity: "sensitive" },
  ],
  description: "Customer records",
  owner: "sales-platform@example.com",
};

let token: string;
beforeAll(async () => {
  token = await adminToken();
});

const path = (orgId: string, name = "") => `/orgs/${orgId}/mcp-servers${name ? `/${name}` : ""}`;

async function register(orgId: string, body: Record<string, unknown> = CRM): Promise<ServerView> {
  const response = await adminRequest("POST", path(orgId), { token, body });
  expect(response.status).toBe(201);
  return (await response.json()) as ServerView;
}

describe("MCP registry: the admin API", () => {
  it("every org lists the built-in demo server first, at /mcp/demo, with its sensitive tool", async () => {
    const orgId = await createTestOrg();
    const response = await adminRequest("GET", path(orgId), { token });
    expect(response.status).toBe(200);
    const { servers } = (await response.json()) as { servers: ServerView[] };
    expect(servers).toHaveLength(1);
    expect(servers[0]).toMatchObject({
      name: "demo",
      org_id: orgId,
      resource: `${env.ISSUER}/mcp/demo`,
      resource_metadata: `${env.ISSUER}/.well-known/oauth-protected-resource/mcp/demo`,
      upstream: { binding: "DEMO" },
      scopes: ["documents:read"],
      tools: [
        { name: "list_documents", sensitivity: "normal" },
        { name: "purge_documents", sensitivity: "sensitive" },
      ],
      status: "active",
      built_in: true,
    });
  });

  it("registers, shows, updates, disables and deletes a server; its resource is <issuer>/mcp/<name>", async () => {
    const orgId = await createTestOrg();
    const created = await register(orgId);
    expect(created).toMatchObject({
      org_id: orgId,
      name: "crm",
      resource: `${env.ISSUER}/mcp/crm`,
      resource_metadata: `${env.ISSUER}/.well-known/oauth-protected-resource/mcp/crm`,
      upstream: "https://crm.example.com/mcp",
      scopes: ["documents:read"],
      tools: CRM.tools,
      owner: CRM.owner,
      status: "active",
      built_in: false,
    });
    expect(created.id).toMatch(/^mcps_/);

    const shown = await adminRequest("GET", path(orgId, "crm"), { token });
    expect(await shown.json()).toEqual(created);

    const listed = (await (await adminRequest("GET", path(orgId), { token })).json()) as { servers: ServerView[] };
    expect(listed.servers.map((s) => s.name)).toEqual(["demo", "crm"]);

    const updated = await adminRequest("PATCH", path(orgId, "crm"), {
      token,
      body: { description: "CRM v2", upstream: { binding: "DEMO" }, status: "disabled" },
    });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({
      description: "CRM v2",
      upstream: { binding: "DEMO" },
      status: "disabled",
      tools: CRM.tools,
      owner: CRM.owner,
    });

    const deleted = await adminRequest("DELETE", path(orgId, "crm"), { token });
    expect(deleted.status).toBe(200);
    await expectHttpError(await adminRequest("GET", path(orgId, "crm"), { token }), 404, "not_found");
    await expectHttpError(await adminRequest("DELETE", path(orgId, "crm"), { token }), 404, "not_found");
  });

  it("409 conflict ERR_MCP_SERVER_EXISTS for a name the org has; another org may use it", async () => {
    const orgId = await createTestOrg();
    await register(orgId);
    const again = await adminRequest("POST", path(orgId), { token, body: CRM });
    const body = await expectHttpError(again, 409, "conflict");
    expect(body.detail).toMatch(/^ERR_MCP_SERVER_EXISTS:/);
    await register(await createTestOrg());
  });

  it("the demo's name is reserved and the demo cannot change: 409 ERR_MCP_NAME_RESERVED / ERR_MCP_SERVER_BUILTIN", async () => {
    const orgId = await createTestOrg();
    const reserved = await adminRequest("POST", path(orgId), { token, body: { ...CRM, name: "demo" } });
    expect((await expectHttpError(reserved, 409, "conflict")).detail).toMatch(/^ERR_MCP_NAME_RESERVED:/);
    const patched = await adminRequest("PATCH", path(orgId, "demo"), { token, body: { status: "disabled" } });
    expect((await expectHttpError(patched, 409, "conflict")).detail).toMatch(/^ERR_MCP_SERVER_BUILTIN:/);
    const deleted = await adminRequest("DELETE", path(orgId, "demo"), { token });
    expect((await expectHttpError(deleted, 409, "conflict")).detail).toMatch(/^ERR_MCP_SERVER_BUILTIN:/);
  });

  it.each([
    [{ ...CRM, name: "CRM" }, /^name:/],
    [{ ...CRM, name: "a/b" }, /^name:/],
    [{ ...CRM, upstream: "http://crm.example.com" }, /^upstream: must be https/],
    [{ ...CRM, upstream: "https://127.0.0.1/mcp" }, /^upstream: must not be a loopback/],
    [{ ...CRM, upstream: "https://10.1.2.3" }, /^upstream: must not be a loopback/],
    [{ ...CRM, upstream: "https://[::1]/" }, /^upstream: must not be a loopback/],
    [{ ...CRM, upstream: "https://localhost/" }, /^upstream: must not be a loopback/],
    [{ ...CRM, upstream: "https://user:pw@crm.example.com" }, /^upstream: no credentials/],
    [{ ...CRM, upstream: "https://crm.example.com/?x=1" }, /^upstream: no credentials/],
    [{ ...CRM, upstream: { binding: "TOKEN" } }, /^upstream: a binding must be one of DEMO/],
    [{ ...CRM, upstream: undefined }, /^upstream: required/],
    [{ ...CRM, scopes: ["admin"] }, /^scopes: admin is not allowed/],
    [{ ...CRM, tools: "find_customer" }, /^tools: required/],
    [{ ...CRM, tools: [{ name: "x", sensitivity: "secret" }] }, /^tools\[0\]\.sensitivity:/],
    [{ ...CRM, tools: [{ name: "x" }, { name: "x" }] }, /^tools\[1\]\.name: x is listed twice/],
    [{ ...CRM, tools: [{ name: "bad name" }] }, /^tools\[0\]\.name:/],
    [{ ...CRM, owner: undefined }, /^owner: required/],
    [{ ...CRM, status: "paused" }, /^status: must be one of active, disabled/],
    [{ ...CRM, colour: "red" }, /^colour: unknown field/],
  ])("400 invalid_body naming the field: %j", async (body, detail) => {
    const orgId = await createTestOrg();
    const response = await adminRequest("POST", path(orgId), { token, body });
    expect((await expectHttpError(response, 400, "invalid_body")).detail).toMatch(detail);
  });

  it("404 not_found for an unknown org; 401 without an operator token", async () => {
    // Random: a fixed id could name an org another file of the shared runtime made (vitest.config.ts).
    await expectHttpError(
      await adminRequest("GET", path(`org-nope-${crypto.randomUUID()}`), { token }),
      404,
      "not_found",
    );
    const anonymous = await adminRequest("GET", path(await createTestOrg()));
    expect(anonymous.status).toBe(401);
  });
});

describe("MCP registry: what the gateway reads (McpRegistryService)", () => {
  it("serversNamed answers every org's active server of the name, and the demo for 'demo'", async () => {
    const registry = exports.McpRegistryService;
    const name = `crm-${crypto.randomUUID().slice(0, 8)}`;
    const a = await createTestOrg();
    const b = await createTestOrg();
    await register(a, { ...CRM, name });
    await register(b, { ...CRM, name, status: "disabled" });
    const routes = await registry.serversNamed(name);
    expect(routes).toEqual([
      {
        orgId: a,
        name,
        resource: `${env.ISSUER}/mcp/${name}`,
        upstream: { url: "https://crm.example.com/mcp" },
        scopes: ["documents:read"],
        tools: CRM.tools,
        status: "active",
      },
    ]);
    expect(await registry.serversNamed("nobody-has-this")).toEqual([]);
    const demo = await registry.serversNamed("demo");
    expect(demo).toHaveLength(1);
    expect(demo[0]).toMatchObject({ name: "demo", upstream: { binding: "DEMO" } });
  });
});

describe("MCP registry: tokens for a registered server (RFC 8707 resource)", () => {
  async function clientCredentials(client: { clientId: string; secret: string }, resource: string) {
    return tokenRequest(
      { grant_type: GRANT_TYPE.clientCredentials, resource },
      { headers: { Authorization: basicAuthorization(client.clientId, client.secret) } },
    );
  }

  it("an org's client gets a token for <issuer>/mcp/<name> while the org has the server active; then invalid_target", async () => {
    const orgId = await createTestOrg();
    const name = `crm-${crypto.randomUUID().slice(0, 8)}`;
    const resource = `${env.ISSUER}/mcp/${name}`;
    // The admin API accepts an MCP server's resource identifier as a client audience.
    const created = await adminRequest("POST", `/orgs/${orgId}/clients`, {
      token,
      body: { client_name: "crm agent", client_type: "agent", scope: "documents:read", audiences: [resource] },
    });
    expect(created.status).toBe(201);
    const { client_id, client_secret } = (await created.json()) as { client_id: string; client_secret: string };
    const client = { clientId: client_id, secret: client_secret };
    await expectOAuthError(await clientCredentials(client, resource), 400, "invalid_target");

    await register(orgId, { ...CRM, name });
    const issued = await clientCredentials(client, resource);
    expect(issued.status).toBe(200);
    const { access_token } = (await issued.json()) as { access_token: string };
    expect(decodeJwt(access_token)).toMatchObject({ aud: resource, org_id: orgId, sub: client_id });

    const disabled = await adminRequest("PATCH", path(orgId, name), { token, body: { status: "disabled" } });
    expect(disabled.status).toBe(200);
    await expectOAuthError(await clientCredentials(client, resource), 400, "invalid_target");
  });

  it("a client of another org holding the same audience gets no token for it", async () => {
    const name = `crm-${crypto.randomUUID().slice(0, 8)}`;
    const resource = `${env.ISSUER}/mcp/${name}`;
    await register(await createTestOrg(), { ...CRM, name });
    const other = await registerTestClient({ audiences: [resource] });
    await expectOAuthError(await clientCredentials(other, resource), 400, "invalid_target");
  });

  it("400 invalid_body for an audience that is neither the issuer's nor an MCP resource identifier", async () => {
    const orgId = await createTestOrg();
    const response = await adminRequest("POST", `/orgs/${orgId}/clients`, {
      token,
      body: {
        client_name: "x",
        client_type: "agent",
        scope: "documents:read",
        audiences: [`${env.ISSUER}/mcp/Not_A_Name`],
      },
    });
    expect((await expectHttpError(response, 400, "invalid_body")).detail).toMatch(/^audiences:/);
  });
});
