// Enterprise-managed authorization for MCP (the MCP extension built on the
// ID-JAG draft and RFC 7523): an enterprise IdP the org trusts issues an
// ID-JAG naming the MCP server's resource; the MCP SDK, unmodified, redeems
// it at our token endpoint through its documented provider hook
// (`prepareTokenRequest`, the way the SDK's own extensions add grants) and
// then uses the token at /mcp/demo. RFC 8707: the token's audience is exactly
// that server, so another registered server refuses it (no passthrough), and
// a resource the org does not have active is `invalid_target`.
import { fetchToken } from "@modelcontextprotocol/sdk/client/auth.js";
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { InvalidTargetError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import type { AuthorizationServerMetadata } from "@modelcontextprotocol/sdk/shared/auth.js";
import { decodeJwt, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GRANT_TYPE, JWT_TYP } from "../../shared/contracts/tokens.ts";
import { type InteropOperator, interopOperator, type JwksServer, startJwksServer } from "../support/interop.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: InteropOperator;
let metadata: AuthorizationServerMetadata;
let orgId: string;
let agent: { clientId: string; clientSecret: string };
let idp: JwksServer;
let idpKey: CryptoKey;
let demo: string;
let search: string;
let paused: string;

/**
 * The SDK's ClientCredentialsProvider (client authentication, token storage)
 * asking for the jwt-bearer grant with the IdP's ID-JAG as the assertion
 * (ID-JAG draft §4.3), through the SDK's documented prepareTokenRequest hook.
 */
class IdJagProvider extends ClientCredentialsProvider {
  constructor(
    private readonly assertion: string,
    options: ConstructorParameters<typeof ClientCredentialsProvider>[0],
  ) {
    super(options);
  }
  override prepareTokenRequest(scope?: string): URLSearchParams {
    const params = new URLSearchParams({ grant_type: GRANT_TYPE.jwtBearer, assertion: this.assertion });
    if (scope) params.set("scope", scope);
    return params;
  }
}

/** What the enterprise IdP issues after the person signed in there (ID-JAG draft §3). */
async function idJag(resource: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: idp.origin,
    sub: "grace@enterprise.example",
    aud: system.origin,
    client_id: agent.clientId,
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 120,
    resource,
    scope: "documents:read",
  })
    .setProtectedHeader({ alg: "RS256", typ: JWT_TYP.idJag, kid: "enterprise-1" })
    .sign(idpKey);
}

function provider(assertion: string) {
  return new IdJagProvider(assertion, {
    clientId: agent.clientId,
    clientSecret: agent.clientSecret,
    expectedIssuer: system.origin,
  });
}

async function rejection(attempt: Promise<unknown>): Promise<unknown> {
  return attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
}

async function registerServer(name: string, status: "active" | "disabled") {
  const response = await operator.admin("POST", `/orgs/${orgId}/mcp-servers`, {
    name,
    upstream: { binding: "DEMO" },
    tools: [{ name: "list_documents" }],
    scopes: ["documents:read"],
    owner: "owner@enterprise.example",
    status,
  });
  if (response.status !== 201) throw new Error(`register ${name}: ${response.status} ${await response.text()}`);
}

beforeAll(async () => {
  system = await startSystem();
  operator = await interopOperator(system);
  metadata = operator.as as unknown as AuthorizationServerMetadata;
  orgId = await operator.createOrg(`mcp-enterprise-${crypto.randomUUID()}`);
  demo = `${system.origin}/mcp/demo`;
  search = `${system.origin}/mcp/search`;
  paused = `${system.origin}/mcp/paused`;
  await registerServer("search", "active");
  await registerServer("paused", "disabled");
  const client = await operator.registerClient(orgId, {
    client_name: "enterprise mcp agent",
    client_type: "agent",
    grant_types: [GRANT_TYPE.jwtBearer],
    audiences: [demo, search, paused],
  });
  agent = { clientId: client.client_id, clientSecret: client.client_secret as string };

  // The enterprise IdP: its keys on a loopback JWKS, trusted by the org through the admin API.
  idp = await startJwksServer();
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  idpKey = privateKey;
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "enterprise-1", alg: "RS256", use: "sig" };
  idp.serve({ keys: [jwk] });
  const trusted = await operator.admin("POST", `/orgs/${orgId}/trusted-issuers`, {
    issuer: idp.origin,
    jwks_uri: `${idp.origin}/jwks.json`,
  });
  expect(trusted.status).toBe(201);
}, 120_000);

afterAll(async () => {
  await idp?.close();
  await system?.close();
});

describe("enterprise-managed authorization: an IdP's ID-JAG for an MCP server", () => {
  it("is redeemed by the MCP SDK for a token whose audience is exactly /mcp/demo, which lists and calls tools there", async () => {
    const redeemer = provider(await idJag(demo));
    const tokens = await fetchToken(redeemer, new URL(system.origin), { metadata, resource: new URL(demo) });
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      iss: system.origin,
      sub: "grace@enterprise.example",
      client_id: agent.clientId,
      org_id: orgId,
      aud: demo,
      scope: "documents:read",
    });
    expect(tokens.refresh_token).toBeUndefined();
    redeemer.saveTokens(tokens);

    const client = new Client({ name: "mono-auth-enterprise-mcp-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(demo), { authProvider: redeemer }));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("list_documents");
      const listed = await client.callTool({ name: "list_documents", arguments: {} });
      const content = listed.content as { type: string; text: string }[];
      const rows = JSON.parse(content[0]?.text ?? "") as { org_id: string }[];
      expect(rows.every((r) => r.org_id === orgId)).toBe(true);
    } finally {
      await client.close();
    }

    // No passthrough: the same token at another of the org's MCP servers is refused (RFC 6750 §3.1).
    const elsewhere = await system.fetch("/mcp/search", {
      method: "POST",
      headers: {
        Authorization: `Bearer ${tokens.access_token}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
    expect(elsewhere.headers.get("WWW-Authenticate")).toContain("ERR_TOKEN_AUD");
    expect(elsewhere.headers.get("WWW-Authenticate")).toContain(
      `resource_metadata="${system.origin}/.well-known/oauth-protected-resource/mcp/search"`,
    );
  });

  it("is invalid_target (RFC 8707 §2) for an MCP server the org has disabled, and for one it never registered", async () => {
    for (const resource of [paused, `${system.origin}/mcp/nowhere`]) {
      const error = await rejection(
        fetchToken(provider(await idJag(resource)), new URL(system.origin), { metadata, resource: new URL(resource) }),
      );
      expect(error).toBeInstanceOf(InvalidTargetError);
      expect((error as InvalidTargetError).errorCode).toBe("invalid_target");
    }
  });
});
