import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import type { McpRegistryRpc } from "../../shared/contracts/mcp.ts";
import { registeredMcpMetadata, registeredMcpRoute } from "../../workers/gateway/src/mcp/registered-route.ts";
import { McpRegistryCache, mcpRegistryBinding } from "../../workers/gateway/src/mcp/registry-cache.ts";
import { freshMcpName, registerMcpServer } from "./mcp-server-rows.ts";

// `/mcp/<name>` is public: before a token is read, the gateway asks whether
// any org registered the name. Each question used to be one registry RPC,
// one D1 read on the primary, so made-up names sent without a token were a
// read each. Here the gateway's registry cache runs on the real registry (the
// token Worker's McpRegistryService over the gateway's MCP_REGISTRY binding,
// reading D1), counted per method, with a staleness bound of its own.
const ORIGIN = "http://localhost:8787";

function countedRegistry() {
  const binding = mcpRegistryBinding(env);
  const calls = { serversNamed: 0, activeServerNames: 0, liveGrants: 0 };
  const rpc: McpRegistryRpc = {
    serversNamed: (name) => (calls.serversNamed++, binding.serversNamed(name)),
    activeServerNames: () => (calls.activeServerNames++, binding.activeServerNames()),
    liveGrants: (query) => (calls.liveGrants++, binding.liveGrants(query)),
  };
  return { rpc, calls };
}

/** The route for `/mcp/<name>` asked without a token, as index.ts asks for it. */
function routeFor(cache: McpRegistryCache, name: string) {
  const url = new URL(`${ORIGIN}/mcp/${name}`);
  return registeredMcpRoute(url.pathname, new Request(url, { method: "POST" }), url, cache, env.ISSUER);
}

describe("unknown /mcp/<name>: a bounded number of registry reads, whatever names are sent", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("200 made-up names, routes and RFC 9728 metadata alike: one read of the active names, none per name", async () => {
    const { rpc, calls } = countedRegistry();
    const cache = new McpRegistryCache(rpc, { maxAgeMs: 60_000, maxEntries: 100 });
    for (let i = 0; i < 100; i++) {
      expect(await routeFor(cache, freshMcpName("nobody"))).toBeUndefined();
      const metadataPath = `${ENDPOINT.protectedResourceMetadata}/mcp/${freshMcpName("nobody")}`;
      expect(await registeredMcpMetadata(metadataPath, cache, env.ISSUER)).toBeUndefined();
    }
    expect(calls).toEqual({ serversNamed: 0, activeServerNames: 1, liveGrants: 0 });
  });

  it("a server registered afterwards is served once the bound has passed; its name is then read once", async () => {
    const { rpc, calls } = countedRegistry();
    const maxAgeMs = 500;
    const cache = new McpRegistryCache(rpc, { maxAgeMs, maxEntries: 100 });
    const name = freshMcpName();
    // The cache's clock stands still until advanced: the second read below falls within the bound
    // however slowly a loaded machine runs it (only Date is faked; timers and I/O run as usual).
    vi.useFakeTimers({ toFake: ["Date"] });
    expect(await routeFor(cache, name)).toBeUndefined();
    await registerMcpServer(`org-${crypto.randomUUID()}`, name);
    vi.setSystemTime(Date.now() + maxAgeMs + 50);
    const found = await routeFor(cache, name);
    expect(found).toMatchObject({ route: { path: `/mcp/${name}`, resourceUri: `${env.ISSUER}/mcp/${name}` } });
    expect(await routeFor(cache, name)).toMatchObject({ route: { path: `/mcp/${name}` } });
    expect(calls).toEqual({ serversNamed: 1, activeServerNames: 2, liveGrants: 0 });
  });
});
