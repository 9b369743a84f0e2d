import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import type { RunningSystem } from "./system.ts";

/**
 * What the gateway says of a bearer token at the demo's documents: "allowed",
 * or its status and stable code (`401 ERR_TOKEN_REVOKED`: the code before
 * the description's colon, else the RFC 6750 `error`). Suites poll it until
 * a revocation reaches the gateway.
 */
export async function gatewayVerdict(system: RunningSystem, token: string): Promise<string> {
  const response = await system.fetch(ENDPOINT.documents, { headers: { Authorization: `Bearer ${token}` } });
  if (response.status === 200) {
    await response.body?.cancel();
    return "allowed";
  }
  return refusal(response);
}

/**
 * The same for an MCP `ping` posted to the MCP server at `resource` (its
 * `<issuer>/mcp/<name>` URL) as an MCP client sends it: "allowed" unless
 * the gateway answers 401 (what the upstream makes of a ping is not the
 * gateway's verdict).
 */
export async function mcpGatewayVerdict(system: RunningSystem, resource: string, token: string): Promise<string> {
  const response = await system.fetch(new URL(resource).pathname, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
  });
  if (response.status !== 401) {
    await response.body?.cancel();
    return "allowed";
  }
  return refusal(response);
}

async function refusal(response: Response): Promise<string> {
  const body = (await response.json()) as { error?: string; error_description?: string };
  return `${response.status} ${body.error_description?.split(":")[0] ?? body.error}`;
}
