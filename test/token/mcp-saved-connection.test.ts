import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { createProvider } from "./vault-fixtures.ts";

// A registered MCP server may name one of its org's vault providers
// (`saved_connection`, by id or name; workers/token/src/admin/mcp-servers.ts):
// the registry stores the provider's id, and what the gateway reads
// (McpRegistryService) carries the provider's resource, whose saved token
// the gateway sends upstream (test/gateway/mcp-saved-connection.test.ts).

const SERVER = {
  upstream: "https://crm.example.com/mcp",
  tools: [{ name: "find_customer" }],
  owner: "sales-platform@example.com",
};

let token: string;
beforeAll(async () => {
  token = await adminToken();
});

const path = (orgId: string, name = "") => `/orgs/${orgId}/mcp-servers${name ? `/${name}` : ""}`;

describe("MCP registry: a server served with a saved connection", () => {
  it("names a provider by name (stored as its id); the gateway's route carries the provider's resource; null removes it", async () => {
    const orgId = await createTestOrg();
    const provider = await createProvider(orgId, { resource: "https://crm.example.com/mcp" }, token);
    const name = `crm-${crypto.randomUUID().slice(0, 8)}`;
    const created = await adminRequest("POST", path(orgId), {
      token,
      body: { ...SERVER, name, saved_connection: provider.name },
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name, saved_connection: provider.id });

    const [route] = await exports.McpRegistryService.serversNamed(name);
    expect(route).toMatchObject({ orgId, name, savedConnection: { resource: "https://crm.example.com/mcp" } });

    const cleared = await adminRequest("PATCH", path(orgId, name), { token, body: { saved_connection: null } });
    expect(cleared.status).toBe(200);
    expect(await cleared.json()).toMatchObject({ saved_connection: null });
    const [plain] = await exports.McpRegistryService.serversNamed(name);
    expect(plain).not.toHaveProperty("savedConnection");

    // By id works too, and an update that leaves the field out keeps it.
    await adminRequest("PATCH", path(orgId, name), { token, body: { saved_connection: provider.id } });
    const kept = await adminRequest("PATCH", path(orgId, name), { token, body: { description: "CRM" } });
    expect(await kept.json()).toMatchObject({ saved_connection: provider.id, description: "CRM" });
  });

  it("400 invalid_body for a provider the org does not have (none of that name, or another org's)", async () => {
    const orgId = await createTestOrg();
    const otherOrg = await createTestOrg();
    const foreign = await createProvider(otherOrg, {}, token);
    for (const ref of ["no-such-provider", foreign.id, foreign.name]) {
      const response = await adminRequest("POST", path(orgId), {
        token,
        body: { ...SERVER, name: `crm-${crypto.randomUUID().slice(0, 8)}`, saved_connection: ref },
      });
      const body = await expectHttpError(response, 400, "invalid_body");
      expect(body.detail).toBe("saved_connection: no such vault provider in this organization");
    }
  });

  it("400 invalid_body ERR_SAVED_CONNECTION_ELSEWHERE for an https upstream that is not at the provider's resource, on create and on a PATCH of the upstream", async () => {
    const orgId = await createTestOrg();
    const provider = await createProvider(orgId, { resource: SERVER.upstream }, token);
    const name = `crm-${crypto.randomUUID().slice(0, 8)}`;
    const elsewhere = { ...SERVER, name, upstream: "https://collector.example.net/mcp", saved_connection: provider.id };
    const refused = await expectHttpError(
      await adminRequest("POST", path(orgId), { token, body: elsewhere }),
      400,
      "invalid_body",
    );
    expect(refused.detail).toMatch(
      /^ERR_SAVED_CONNECTION_ELSEWHERE: saved_connection: the provider's tokens are for https:\/\/crm\.example\.com\/mcp,/,
    );
    const created = await adminRequest("POST", path(orgId), {
      token,
      body: { ...SERVER, name, saved_connection: provider.id },
    });
    expect(created.status).toBe(201);
    const patched = await expectHttpError(
      await adminRequest("PATCH", path(orgId, name), { token, body: { upstream: elsewhere.upstream } }),
      400,
      "invalid_body",
    );
    expect(patched.detail).toMatch(/^ERR_SAVED_CONNECTION_ELSEWHERE: /);
  });

  it("a deleted provider leaves the route asking for an empty resource (the vault finds nothing: fail closed)", async () => {
    const orgId = await createTestOrg();
    const provider = await createProvider(orgId, { resource: SERVER.upstream }, token);
    const name = `crm-${crypto.randomUUID().slice(0, 8)}`;
    await adminRequest("POST", path(orgId), { token, body: { ...SERVER, name, saved_connection: provider.id } });
    const deleted = await adminRequest("DELETE", `/orgs/${orgId}/vault/providers/${provider.id}`, { token });
    expect(deleted.status).toBe(200);
    const [route] = await exports.McpRegistryService.serversNamed(name);
    expect(route).toMatchObject({ name, savedConnection: { resource: "" } });
  });
});
