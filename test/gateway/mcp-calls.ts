import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { gatewayFetch, memberClaims, type TestSigner } from "./signed-token.ts";

const ORIGIN = "http://localhost:8787";

/** A token for an agent of `orgId` at the registered MCP server `name`: its audience is `<issuer>/mcp/<name>`. */
export function agentTokenAt(
  signer: TestSigner,
  name: string,
  orgId: string,
  clientId = `mac_${crypto.randomUUID()}`,
): Promise<string> {
  return signer.sign(
    memberClaims({ aud: `${env.ISSUER}/mcp/${name}`, sub: clientId, client_id: clientId, org_id: orgId }),
  );
}

/** `tools/list` posted to the gateway at `path` (`/mcp/<name>`, a query allowed) as an MCP client sends it; without a token when none is given. */
export function postToolsList(path: string, token?: string): Promise<Response> {
  return gatewayFetch(`${ORIGIN}${path}`, {
    method: "POST",
    headers: {
      ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
}

/**
 * The third party's MCP server on the internet, at `host`: the gateway
 * reaches an https upstream with the runtime's fetch
 * (workers/gateway/src/forward/upstream.ts), so the test stands in for that
 * one host only (every other fetch goes out as it would), answering with
 * `answer` (by default an empty tool list). The requests it received. The
 * test file restores fetch after each test (vi.restoreAllMocks).
 */
export function externalMcpServer(
  host: string,
  answer: (request: Request) => Response | Promise<Response> = () =>
    Response.json({ jsonrpc: "2.0", id: 1, result: { tools: [] } }),
): Request[] {
  const received: Request[] = [];
  const internet = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (new URL(request.url).host !== host) return internet(input, init);
    received.push(request);
    return answer(request);
  });
  return received;
}
