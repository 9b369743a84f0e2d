// The MCP route end to end with the official MCP TypeScript SDK, unmodified:
// its Client over StreamableHTTPClientTransport to the gateway's /mcp/demo,
// first without a token (the 401 challenge names the RFC 9728 metadata, which
// the SDK's own discovery reads), then with a token its
// ClientCredentialsProvider got from our issuer for that resource (RFC 8707).
// The one thing the tests add is a `fetch` that records each response's
// status and WWW-Authenticate (the transport's documented `fetch` option),
// because the SDK surfaces a refusal as an error carrying the body only.
import {
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
  fetchToken,
} from "@modelcontextprotocol/sdk/client/auth.js";
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { AuthorizationServerMetadata } from "@modelcontextprotocol/sdk/shared/auth.js";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { interopOperator } from "../support/interop.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let orgId: string;
let metadata: AuthorizationServerMetadata;
let mcpUrl: URL;
let clientId: string;
let clientSecret: string;

/** What the transport's fetches answered, in order. */
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

function newClient(): Client {
  return new Client({ name: "mono-auth-mcp-sdk-test", version: "1.0.0" });
}

async function rejection(attempt: Promise<unknown>): Promise<unknown> {
  return attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
}

beforeAll(async () => {
  system = await startSystem();
  mcpUrl = new URL("/mcp/demo", system.origin);
  const operator = await interopOperator(system);
  metadata = operator.as as unknown as AuthorizationServerMetadata;
  orgId = await operator.createOrg(`mcp-sdk-${crypto.randomUUID()}`);
  const client = await operator.registerClient(orgId, {
    client_name: "mcp agent",
    audiences: [mcpUrl.href],
  });
  clientId = client.client_id;
  clientSecret = client.client_secret as string;
}, 120_000);

afterAll(async () => {
  await system?.close();
});

describe("MCP SDK client against /mcp/demo", () => {
  it("without a token: 401 whose challenge names the RFC 9728 metadata, which names our issuer and the route", async () => {
    const seen: Seen[] = [];
    const transport = new StreamableHTTPClientTransport(mcpUrl, { fetch: recordingFetch(seen) });
    const error = await rejection(newClient().connect(transport));
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect((error as StreamableHTTPError).code).toBe(401);

    const refused = seen.at(-1);
    expect(refused).toMatchObject({ method: "POST", status: 401 });
    const challenge = refused?.challenge ?? "";
    const metadataUrl = `${system.origin}/.well-known/oauth-protected-resource/mcp/demo`;
    // MCP authorization, "Protected Resource Metadata Discovery Requirements":
    // resource_metadata, with the scope a client should ask for (RFC 6750 §3).
    expect(challenge).toBe(`Bearer realm="mono-auth", scope="documents:read", resource_metadata="${metadataUrl}"`);

    // The SDK's own parsing and discovery, as its auth() runs them on a 401.
    const { resourceMetadataUrl } = extractWWWAuthenticateParams(
      new Response(null, { status: 401, headers: { "WWW-Authenticate": challenge } }),
    );
    expect(resourceMetadataUrl?.href).toBe(metadataUrl);
    const resource = await discoverOAuthProtectedResourceMetadata(mcpUrl, { resourceMetadataUrl });
    expect(resource.resource).toBe(mcpUrl.href);
    expect(resource.authorization_servers).toEqual([system.origin]);
    expect(resource.scopes_supported).toContain("documents:read");
  });

  it("with a ClientCredentialsProvider token for the route: lists the tools, calls the harmless one, is refused the sensitive one without a grant", async () => {
    const provider = new ClientCredentialsProvider({ clientId, clientSecret, expectedIssuer: system.origin });
    // fetchToken is what the SDK's auth() runs for a non-interactive
    // provider; auth() itself is not used because its discovery step requires
    // authorization_endpoint, which RFC 8414 §2 does not require of an issuer
    // without a grant that uses one (test/e2e/interop-clients.test.ts).
    const tokens = await fetchToken(provider, new URL(system.origin), { metadata, resource: mcpUrl });
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      sub: clientId,
      org_id: orgId,
      aud: mcpUrl.href,
      scope: "documents:read",
    });
    // The transport sends whatever token the provider holds.
    provider.saveTokens(tokens);

    const seen: Seen[] = [];
    const transport = new StreamableHTTPClientTransport(mcpUrl, {
      authProvider: provider,
      fetch: recordingFetch(seen),
    });
    const client = newClient();
    try {
      await client.connect(transport);
      expect(client.getServerVersion()).toMatchObject({ name: "mono-auth-demo" });
      expect(client.getServerCapabilities()).toMatchObject({ tools: {} });

      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(["list_documents", "purge_documents"]);

      const listed = await client.callTool({ name: "list_documents", arguments: {} });
      const content = listed.content as { type: string; text: string }[];
      const rows = JSON.parse(content[0]?.text ?? "") as { org_id: string; classification: string }[];
      // The default policy's filter for the harmless tool: the caller's org, public and internal rows.
      expect(rows.map((r) => r.classification).sort()).toEqual(["internal", "public"]);
      expect(rows.every((r) => r.org_id === orgId)).toBe(true);

      // The sensitive tool needs an operator's grant (test/e2e/mcp-access-review.test.ts): 403
      // insufficient_scope ERR_GRANT_REQUIRED naming the route's metadata (RFC 6750 §3.1). The
      // SDK may try a step-up on it (its transport does for insufficient_scope); the call fails either way.
      const purge = await rejection(client.callTool({ name: "purge_documents", arguments: {} }));
      expect(purge).toBeInstanceOf(Error);
      const refusal = seen.filter((s) => s.method === "POST" && s.status === 403)[0];
      expect(refusal?.challenge).toContain('error="insufficient_scope"');
      expect(refusal?.challenge).toContain("ERR_GRANT_REQUIRED:");
      expect(refusal?.challenge).toContain(
        `resource_metadata="${system.origin}/.well-known/oauth-protected-resource/mcp/demo"`,
      );
      // The transport's first GET (the optional SSE stream) is 405 from the gateway, which the SDK
      // accepts; any later ones are its step-up's metadata discovery.
      expect(seen.find((s) => s.method === "GET")?.status).toBe(405);
    } finally {
      await client.close();
    }
  });
});
