import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { freshMcpName, registerMcpServer } from "./mcp-server-rows.ts";
import { agentTokenAt, externalMcpServer, postToolsList } from "./mcp-calls.ts";
import { memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// The admin API refuses an internal upstream when it is stored (docs/mcp.md);
// the gateway checks it again before each request, so a row written around
// the API (or before the guard) never sends the caller's request and the
// gateway assertion to an internal address.

let signer: TestSigner;
beforeAll(async () => {
  signer = await testSigner();
});
beforeEach(() => signer.publish());
afterEach(() => vi.restoreAllMocks());

describe("a registered MCP server's URL upstream, at the gateway", () => {
  it("is never fetched when the outbound URL guard refuses it: 502 upstream_forbidden ERR_OUTBOUND_URL_FORBIDDEN", async () => {
    const fetched: string[] = [];
    const internet = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      if (new URL(request.url).protocol === "https:" && !request.url.startsWith(env.ISSUER)) {
        fetched.push(request.url);
        return Response.json({ jsonrpc: "2.0", id: 1, result: { tools: [] } });
      }
      return internet(input, init);
    });
    for (const upstream of [
      "https://169.254.169.254/latest/meta-data",
      "https://10.0.0.7/rpc",
      "https://[::ffff:127.0.0.1]/rpc",
      "https://metadata.google.internal/rpc",
    ]) {
      const orgId = `org-${crypto.randomUUID()}`;
      const name = freshMcpName();
      await registerMcpServer(orgId, name, { url: upstream });
      const token = await agentTokenAt(signer, name, orgId);
      const response = await postToolsList(`/mcp/${name}`, token);
      expect(response.status, upstream).toBe(502);
      const body = (await response.json()) as { error: string; error_description: string };
      expect(body.error).toBe("upstream_forbidden");
      expect(body.error_description).toMatch(/^ERR_OUTBOUND_URL_FORBIDDEN:/);
    }
    expect(fetched).toEqual([]);
  });

  it("is refused only to a verified token of its org: anyone else gets the RFC 6750 answer, never ERR_OUTBOUND_URL_FORBIDDEN", async () => {
    // The server is picked by the token's org_id before the token is verified; its refusal told an
    // anonymous caller, or one with a hand-written token naming the org, that the org's server is misconfigured.
    const orgId = `org-${crypto.randomUUID()}`;
    const name = freshMcpName();
    await registerMcpServer(orgId, name, { url: "https://10.0.0.7/rpc" });
    const challenge = `Bearer realm="mono-auth", scope="documents:read", resource_metadata="${env.ISSUER}${ENDPOINT.protectedResourceMetadata}/mcp/${name}"`;

    const anonymous = await postToolsList(`/mcp/${name}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("WWW-Authenticate")).toBe(challenge);
    expect(await anonymous.text()).not.toContain("ERR_OUTBOUND_URL_FORBIDDEN");

    // The issuer's kid, another key's signature, claiming the org.
    const forger = await testSigner();
    const forgedToken = await forger.sign(
      memberClaims({ aud: `${env.ISSUER}/mcp/${name}`, sub: "mac_forged", client_id: "mac_forged", org_id: orgId }),
      { kid: signer.kid },
    );
    const forged = await postToolsList(`/mcp/${name}`, forgedToken);
    expect(forged.status).toBe(401);
    expect(forged.headers.get("WWW-Authenticate")).toMatch(
      /^Bearer realm="mono-auth", error="invalid_token", error_description="ERR_TOKEN_SIGNATURE: [^"]*", scope="documents:read", resource_metadata="[^"]+"$/,
    );
    expect(await forged.text()).not.toContain("ERR_OUTBOUND_URL_FORBIDDEN");

    // A real token of another org: the route is not its (404), still nothing about this org's upstream.
    const stranger = await postToolsList(
      `/mcp/${name}`,
      await agentTokenAt(signer, name, `org-${crypto.randomUUID()}`),
    );
    expect(stranger.status).toBe(404);
    expect(await stranger.json()).toMatchObject({
      error: "not_found",
      error_description: expect.stringMatching(/^ERR_MCP_SERVER_UNKNOWN:/),
    });

    const own = await postToolsList(`/mcp/${name}`, await agentTokenAt(signer, name, orgId));
    expect(own.status).toBe(502);
    expect(await own.json()).toEqual({
      error: "upstream_forbidden",
      error_description: "ERR_OUTBOUND_URL_FORBIDDEN: the server's upstream may not be fetched",
    });
  });

  it("502 upstream_unreachable, not 500, when the upstream gives no answer, and the cause stays in the log", async () => {
    const host = `mcp-${crypto.randomUUID().slice(0, 8)}.example.com`;
    // What workerd throws when a host cannot be reached; the message names the host.
    externalMcpServer(host, () => {
      throw new TypeError(`Network connection lost to ${host}`);
    });
    const orgId = `org-${crypto.randomUUID()}`;
    const name = freshMcpName();
    await registerMcpServer(orgId, name, { url: `https://${host}/rpc` });
    const token = await signer.sign(memberClaims({ aud: `${env.ISSUER}/mcp/${name}`, org_id: orgId }));
    const response = await postToolsList(`/mcp/${name}`, token);
    expect(response.status).toBe(502);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      error: "upstream_unreachable",
      error_description: "the service behind this path did not answer; retry later",
    });
    expect(text).not.toContain(host);
  });

  it("502 upstream_response_refused for an upstream's 401: the caller's token was good, so no challenge-less 401 tells it otherwise", async () => {
    const host = `mcp-${crypto.randomUUID().slice(0, 8)}.example.com`;
    // An MCP server that wants a token of its own authorization server, not the gateway's assertion.
    externalMcpServer(host, () =>
      Response.json(
        { error: "invalid_token" },
        {
          status: 401,
          headers: {
            "WWW-Authenticate": `Bearer resource_metadata="https://${host}/.well-known/oauth-protected-resource"`,
          },
        },
      ),
    );
    const orgId = `org-${crypto.randomUUID()}`;
    const name = freshMcpName();
    await registerMcpServer(orgId, name, { url: `https://${host}/rpc` });
    const token = await signer.sign(memberClaims({ aud: `${env.ISSUER}/mcp/${name}`, org_id: orgId }));
    const response = await postToolsList(`/mcp/${name}`, token);
    expect(response.status).toBe(502);
    expect(response.headers.get("WWW-Authenticate")).toBeNull();
    expect(await response.json()).toEqual({
      error: "upstream_response_refused",
      error_description: "the service refused the credentials the gateway sent it; this is not about your token",
    });
  });
});
