import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { MAX_MCP_BODY_BYTES } from "../../workers/gateway/src/mcp/read-mcp-request.ts";
import { gatewayFetch, memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// The demo MCP server behind the gateway, as an MCP client meets it (MCP
// authorization and streamable HTTP, revision 2026-07-28; RFC 9728, RFC 6750).
const ORIGIN = "http://localhost:8787";
const MCP_URL = `${ORIGIN}${ENDPOINT.mcpDemo}`;
const RESOURCE = `${env.ISSUER}${ENDPOINT.mcpDemo}`;
const METADATA_URL = `${env.ISSUER}${ENDPOINT.protectedResourceMetadata}${ENDPOINT.mcpDemo}`;

let signer: TestSigner;

beforeAll(async () => {
  signer = await testSigner();
});

beforeEach(() => signer.publish());

/** A token for the MCP route: its audience is the route's resource identifier. */
function mcpToken(overrides: Record<string, unknown> = {}) {
  return signer.sign(memberClaims({ aud: RESOURCE, ...overrides }));
}

let nextId = 1;
function rpc(method: string, params?: Record<string, unknown>) {
  return { jsonrpc: "2.0", id: nextId++, method, ...(params ? { params } : {}) };
}

async function post(body: unknown, token?: string, headers: Record<string, string> = {}) {
  return gatewayFetch(MCP_URL, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function expectMcpError(response: Response, status: number, error: string, code: string) {
  expect(response.status).toBe(status);
  expect(await response.json()).toMatchObject({
    error,
    error_description: expect.stringMatching(new RegExp(`^${code}:`)),
  });
}

describe("MCP route: discovery", () => {
  it("401 without a token names the metadata and the scope (MCP authorization, RFC 9728 §5.1)", async () => {
    const response = await post(rpc("tools/list"));
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe(
      `Bearer realm="mono-auth", scope="documents:read", resource_metadata="${METADATA_URL}"`,
    );
  });

  it("401 naming the metadata for a Basic credential too: another scheme is no credential here (RFC 6750 §3.1)", async () => {
    const response = await post(rpc("tools/list"), undefined, { Authorization: "Basic dXNlcjpwYXNz" });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe(
      `Bearer realm="mono-auth", scope="documents:read", resource_metadata="${METADATA_URL}"`,
    );
    expect(await response.json()).toEqual({ error: "unauthorized", error_description: "bearer token required" });
  });

  it("serves RFC 9728 metadata at the path-suffixed URL, for the route's resource", async () => {
    const response = await gatewayFetch(METADATA_URL);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("application/json");
    expect(await response.json()).toEqual({
      resource: RESOURCE,
      authorization_servers: [env.ISSUER],
      scopes_supported: ["documents:read"],
      bearer_methods_supported: ["header"],
      dpop_signing_alg_values_supported: ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
    });
  });

  it("serves the root form for the origin, and 404 for a path that is no MCP route", async () => {
    const root = await gatewayFetch(`${ORIGIN}${ENDPOINT.protectedResourceMetadata}`);
    expect(root.status).toBe(200);
    expect(await root.json()).toMatchObject({
      resource: env.ISSUER,
      authorization_servers: [env.ISSUER],
      scopes_supported: ["documents:read"],
    });
    for (const path of [
      `${ENDPOINT.protectedResourceMetadata}/mcp/other`,
      `${ENDPOINT.protectedResourceMetadata}/api/documents`,
    ]) {
      const response = await gatewayFetch(`${ORIGIN}${path}`);
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { error: string }).error).toBe("not_found");
    }
    const posted = await gatewayFetch(METADATA_URL, { method: "POST" });
    expect(posted.status).toBe(405);
  });
});

describe("MCP route: the token", () => {
  it("401 ERR_TOKEN_AUD for a token of another audience, still naming the metadata; and the MCP token is refused elsewhere", async () => {
    const apiToken = await signer.sign(memberClaims());
    const response = await post(rpc("tools/list"), apiToken);
    expect(response.status).toBe(401);
    const challenge = response.headers.get("WWW-Authenticate") ?? "";
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).toContain("ERR_TOKEN_AUD:");
    expect(challenge).toContain(`resource_metadata="${METADATA_URL}"`);

    const elsewhere = await gatewayFetch(`${ORIGIN}${ENDPOINT.documents}`, {
      headers: { Authorization: `Bearer ${await mcpToken()}` },
    });
    expect(elsewhere.status).toBe(401);
    expect(((await elsewhere.json()) as { error_description: string }).error_description).toMatch(/^ERR_TOKEN_AUD:/);
  });

  it("403 insufficient_scope with scope= and resource_metadata for a token without the route's scope (step-up)", async () => {
    const response = await post(rpc("tools/list"), await mcpToken({ scope: "profile" }));
    expect(response.status).toBe(403);
    expect(response.headers.get("WWW-Authenticate")).toBe(
      `Bearer realm="mono-auth", error="insufficient_scope", error_description="this resource needs the scope documents:read", scope="documents:read", resource_metadata="${METADATA_URL}"`,
    );
    expect(((await response.json()) as { error: string }).error).toBe("insufficient_scope");
  });

  it("405 for GET and DELETE: the transport's current revision has no stream or session endpoints", async () => {
    for (const method of ["GET", "DELETE"]) {
      const response = await gatewayFetch(MCP_URL, {
        method,
        headers: { Authorization: `Bearer ${await mcpToken()}` },
      });
      expect(response.status, method).toBe(405);
      expect(response.headers.get("Allow")).toBe("POST");
    }
  });
});

describe("MCP route: the method and the tool decide", () => {
  it("a member lists the tools and calls the harmless one; the filter still applies", async () => {
    const token = await mcpToken();
    const list = await post(rpc("tools/list"), token);
    expect(list.status).toBe(200);
    const tools = ((await list.json()) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name);
    expect(tools).toEqual(["list_documents", "purge_documents"]);

    const call = await post(rpc("tools/call", { name: "list_documents", arguments: {} }), token);
    expect(call.status).toBe(200);
    const text = ((await call.json()) as { result: { content: { text: string }[] } }).result.content[0]?.text ?? "";
    const rows = JSON.parse(text) as { org_id: string; classification: string }[];
    expect(rows.map((r) => r.classification).sort()).toEqual(["internal", "public"]);
    expect(rows.every((r) => r.org_id === "org-1")).toBe(true);
  });

  it("403 access_denied for the sensitive tool, with the decision id audited under the tool's name", async () => {
    const response = await post(rpc("tools/call", { name: "purge_documents", arguments: {} }), await mcpToken());
    expect(response.status).toBe(403);
    const body = (await response.json()) as { error: string; error_description: string; decision_id: string };
    expect(body).toMatchObject({ error: "access_denied", error_description: "no_matching_allow" });
    await expect
      .poll(() =>
        env.AUDIT_DB.prepare("SELECT outcome, detail FROM audit_event WHERE id = ?").bind(body.decision_id).first(),
      )
      .toMatchObject({ outcome: "deny", detail: expect.stringContaining('"mcp_tool":"purge_documents"') });
  });

  it("an owner may call the sensitive tool, on the org's own rows only", async () => {
    const response = await post(
      rpc("tools/call", { name: "purge_documents", arguments: {} }),
      await mcpToken({ roles: ["owner"] }),
    );
    expect(response.status).toBe(200);
    const text = ((await response.json()) as { result: { content: { text: string }[] } }).result.content[0]?.text;
    expect(text).toBe("would purge 4 documents");
  });

  it("a notification is passed on and answered 202", async () => {
    const response = await post({ jsonrpc: "2.0", method: "notifications/initialized" }, await mcpToken());
    expect(response.status).toBe(202);
  });
});

describe("MCP route: hostile requests", () => {
  it("Mcp-Method and Mcp-Name that agree with the body pass, Base64 sentinel decoded", async () => {
    const token = await mcpToken();
    const plain = await post(rpc("tools/call", { name: "list_documents" }), token, {
      "Mcp-Method": "tools/call",
      "Mcp-Name": "list_documents",
    });
    expect(plain.status).toBe(200);
    const encoded = await post(rpc("tools/call", { name: "list_documents" }), token, {
      "Mcp-Method": "tools/call",
      "Mcp-Name": `=?base64?${btoa("list_documents")}?=`,
    });
    expect(encoded.status).toBe(200);
  });

  it("400 ERR_MCP_HEADER_MISMATCH when the headers say one thing and the body another", async () => {
    const token = await mcpToken({ roles: ["owner"] });
    const cases: [Record<string, unknown>, Record<string, string>][] = [
      // A header claiming the harmless tool over a body calling the sensitive one.
      [rpc("tools/call", { name: "purge_documents" }), { "Mcp-Method": "tools/call", "Mcp-Name": "list_documents" }],
      [rpc("tools/call", { name: "purge_documents" }), { "Mcp-Method": "tools/list" }],
      [rpc("tools/list"), { "Mcp-Name": "list_documents" }],
      [rpc("tools/call", { name: "purge_documents" }), { "Mcp-Name": `=?base64?${btoa("list_documents")}?=` }],
      [rpc("tools/call", { name: "list_documents" }), { "Mcp-Name": "=?base64?not base64?=" }],
      [rpc("tools/call", { name: "list_documents" }), { "Mcp-Method": "TOOLS/CALL" }],
    ];
    for (const [body, headers] of cases) {
      await expectMcpError(await post(body, token, headers), 400, "invalid_mcp_request", "ERR_MCP_HEADER_MISMATCH");
    }
  });

  it("400 for a body that is not one JSON-RPC request: a batch, not JSON, no method, a call without a tool", async () => {
    const token = await mcpToken();
    const cases: [unknown, string][] = [
      [[rpc("tools/list"), rpc("tools/call", { name: "purge_documents" })], "ERR_MCP_BATCH"],
      ["{not json", "ERR_MCP_NOT_JSON_RPC"],
      ["", "ERR_MCP_NOT_JSON_RPC"],
      [{ jsonrpc: "2.0", id: 1, result: {} }, "ERR_MCP_NOT_JSON_RPC"],
      [{ jsonrpc: "1.0", id: 1, method: "tools/list" }, "ERR_MCP_NOT_JSON_RPC"],
      [rpc("tools/call", { arguments: {} }), "ERR_MCP_NOT_JSON_RPC"],
      [{ jsonrpc: "2.0", id: 1, method: "tools/call", params: ["purge_documents"] }, "ERR_MCP_NOT_JSON_RPC"],
    ];
    for (const [body, code] of cases) {
      await expectMcpError(await post(body, token), 400, "invalid_mcp_request", code);
    }
  });

  it("400 ERR_MCP_AMBIGUOUS_MEMBER for a member named twice or in two cases: parsers part on which one counts", async () => {
    // The owner may call the sensitive tool, so only the refusal stands between each body and a 200.
    const token = await mcpToken({ roles: ["owner"] });
    const bodies = [
      // Go's encoding/json matches names case-insensitively: it reads the second tool.
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_documents","Name":"purge_documents"}}',
      '{"jsonrpc":"2.0","id":2,"method":"tools/list","Method":"tools/call","params":{"name":"purge_documents"}}',
      // JSON.parse keeps the last duplicate; first-wins parsers read the other tool.
      '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"purge_documents","name":"list_documents"}}',
      // Escapes and Unicode folding: `\u0061` is `a`, Go folds `ſ` (U+017F) to `s`.
      '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_documents","n\\u0061me":"purge_documents"}}',
      '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"list_documents"},"paramſ":{"name":"purge_documents"}}',
      // Any depth: the arguments the server reads are the ones decided on.
      '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"list_documents","arguments":{"q":[{"a":1,"A":2}]}}}',
    ];
    for (const body of bodies) {
      await expectMcpError(await post(body, token), 400, "invalid_mcp_request", "ERR_MCP_AMBIGUOUS_MEMBER");
    }
    // Names that are merely alike, in objects side by side, and the same name in sibling objects pass.
    const call = await post(
      '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"list_documents","arguments":{"name":"x","names":["name","Name"],"a":{"k":1},"b":{"k":1}}}}',
      token,
    );
    expect(call.status).toBe(200);
  });

  it("400 ERR_MCP_NOT_JSON_RPC for a method or tool name with a lone surrogate: parsers part on what it reads as", async () => {
    const token = await mcpToken({ roles: ["owner"] });
    for (const body of [
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_documents\\ud800"}}',
      '{"jsonrpc":"2.0","id":2,"method":"tools/\\udfffcall","params":{"name":"list_documents"}}',
    ]) {
      await expectMcpError(await post(body, token), 400, "invalid_mcp_request", "ERR_MCP_NOT_JSON_RPC");
    }
  });

  it("413 for a body over the cap, with or without Content-Length", async () => {
    const token = await mcpToken();
    const big = JSON.stringify(
      rpc("tools/call", { name: "list_documents", arguments: { pad: "x".repeat(MAX_MCP_BODY_BYTES) } }),
    );
    await expectMcpError(await post(big, token), 413, "payload_too_large", "ERR_MCP_BODY_TOO_LARGE");
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 65_536) controller.enqueue(bytes.slice(i, i + 65_536));
        controller.close();
      },
    });
    const chunked = await gatewayFetch(MCP_URL, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: stream,
    });
    await expectMcpError(chunked, 413, "payload_too_large", "ERR_MCP_BODY_TOO_LARGE");
  });

  it("the body the PDP decided on is the body the server gets: the id comes back", async () => {
    const response = await post(`  {"jsonrpc":"2.0","id":"same-bytes","method":"ping"}  `, await mcpToken());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ jsonrpc: "2.0", id: "same-bytes", result: {} });
  });
});
