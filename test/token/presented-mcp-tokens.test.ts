import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { mcpResource } from "../../shared/contracts/mcp.ts";
import { CLOCK_TOLERANCE_SECONDS } from "../../shared/contracts/tokens.ts";
import { adminRequest, adminToken } from "./admin-fixtures.ts";
import { clientToken, createTestOrg, registerTestClient } from "./clients-fixtures.ts";
import { introspected, jtiOf, revoke, revokedJtis } from "./revocation-fixtures.ts";

// Tokens for an org's registered MCP server (`<issuer>/mcp/<name>`, RFC 8707)
// are ours like any other: the gateway honours them, so revocation (RFC 7009)
// must record them and introspection (RFC 7662) must describe them.

/** An org with a registered MCP server, and a client of it allowed that resource. */
async function clientOfMcpServer() {
  const orgId = await createTestOrg();
  const name = `crm-${crypto.randomUUID().slice(0, 8)}`;
  const registered = await adminRequest("POST", `/orgs/${orgId}/mcp-servers`, {
    token: await adminToken(),
    body: {
      name,
      upstream: "https://crm.example.com/mcp",
      scopes: ["documents:read"],
      tools: [{ name: "find_customer", sensitivity: "normal" }],
      description: "Customer records",
      owner: "sales-platform@example.com",
    },
  });
  expect(registered.status).toBe(201);
  const resource = mcpResource(env.ISSUER, name);
  const client = await registerTestClient({ orgId, audiences: [resource] });
  return { client, resource, token: await clientToken(client, resource) };
}

describe(`${ENDPOINT.revocation} and ${ENDPOINT.introspection}: a registered MCP server's tokens`, () => {
  it("introspects the client's own MCP-audience token as active, revokes it into the org's Durable Object, then inactive", async () => {
    const { client, resource, token } = await clientOfMcpServer();
    const claims = decodeJwt(token);
    expect(claims.aud).toBe(resource);
    expect(await introspected(token, client)).toMatchObject({
      active: true,
      aud: resource,
      client_id: client.clientId,
      org_id: client.orgId,
      jti: claims.jti,
    });

    expect((await revoke(token, client)).status).toBe(200);
    // Recorded where the gateway reads revocations: the org's Durable Object.
    expect(await revokedJtis(client.orgId as string)).toEqual([
      { value: jtiOf(token), expiresAt: (claims.exp as number) + CLOCK_TOLERANCE_SECONDS },
    ]);
    expect(await introspected(token, client)).toEqual({ active: false });
  });
});
