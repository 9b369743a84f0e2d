import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { freshMcpName, registerMcpServer } from "./mcp-server-rows.ts";
import { gatewayFetch, memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// The admin API refuses an internal upstream when it is stored (docs/mcp.md);
// the gateway checks it again before each request, so a row written around
// the API (or before the guard) never sends the caller's request and the
// gateway assertion to an internal address.
const ORIGIN = "http://localhost:8787";

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
      const clientId = `mac_${crypto.randomUUID()}`;
      const token = await signer.sign(
        memberClaims({ aud: `${env.ISSUER}/mcp/${name}`, sub: clientId, client_id: clientId, org_id: orgId }),
      );
      const response = await gatewayFetch(`${ORIGIN}/mcp/${name}`, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${token}`,
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
      expect(response.status, upstream).toBe(502);
      const body = (await response.json()) as { error: string; error_description: string };
      expect(body.error).toBe("upstream_forbidden");
      expect(body.error_description).toMatch(/^ERR_OUTBOUND_URL_FORBIDDEN:/);
    }
    expect(fetched).toEqual([]);
  });
});
