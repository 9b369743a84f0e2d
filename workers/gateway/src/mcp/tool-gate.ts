import {
  agentPrincipal,
  coveringGrant,
  MCP_RESOURCE_ATTRIBUTE,
  type McpTool,
} from "../../../../shared/contracts/mcp.ts";
import type { AccessTokenClaims } from "../../../../shared/contracts/tokens.ts";
import type { AttributeValue } from "../../../../shared/policy/types.ts";
import type { McpRequest } from "./read-mcp-request.ts";
import type { McpRegistryCache } from "./registry-cache.ts";

/** The MCP server a route fronts, as far as its tools are concerned. */
export interface GatedServer {
  name: string;
  tools: readonly McpTool[];
}

export type ToolGate =
  /** Go on to the PDP with these resource attributes. */
  | { kind: "pass"; attributes?: Record<string, AttributeValue>; grantId?: string }
  /** A sensitive tool, and no live grant of this agent names it. */
  | { kind: "refused"; code: "ERR_GRANT_REQUIRED"; description: string }
  /** The grants could not be read: fail closed. */
  | { kind: "unavailable" };

/**
 * The registry's tool-level rule, before the PDP: an agent (a client acting
 * as itself, or acting for a person through `act`: shared/contracts/mcp.ts
 * agentPrincipal) calling a tool the server's registration marks
 * `sensitive` needs a live grant an operator approved for that agent, that
 * tool and that principal (workers/token/src/mcp/review.ts); without one the
 * call is refused, 403 `insufficient_scope` (RFC 6750 §3.1: the token is
 * fine, it is not enough for this), until an approval. The PDP then still
 * decides, seeing `resource.attributes.tool_sensitivity` and `.granted`,
 * so an org's policy can narrow further. A person's own token is not gated
 * here: the policy alone decides what people may call.
 */
export async function gateTool(
  claims: AccessTokenClaims,
  server: GatedServer,
  mcp: McpRequest,
  registry: McpRegistryCache,
): Promise<ToolGate> {
  if (mcp.method !== "tools/call" || mcp.tool === undefined) return { kind: "pass" };
  const tool = mcp.tool;
  const sensitivity = server.tools.find((t) => t.name === tool)?.sensitivity ?? "";
  const attributes = (granted: boolean) => ({
    [MCP_RESOURCE_ATTRIBUTE.sensitivity]: sensitivity,
    [MCP_RESOURCE_ATTRIBUTE.granted]: granted,
  });
  const agent = agentPrincipal(claims);
  if (sensitivity !== "sensitive" || !agent) return { kind: "pass", attributes: attributes(false) };
  let grants: Awaited<ReturnType<McpRegistryCache["liveGrants"]>>;
  try {
    grants = await registry.liveGrants({ orgId: claims.org_id, clientId: agent.clientId, server: server.name });
  } catch (error) {
    console.error("mcp grants unavailable", error);
    return { kind: "unavailable" };
  }
  const grant = coveringGrant(grants, tool, agent.onBehalfOf, Date.now());
  if (!grant) {
    return {
      kind: "refused",
      code: "ERR_GRANT_REQUIRED",
      description: `the tool ${tool} needs an approved access grant for this agent (request one at the agent API)`,
    };
  }
  return { kind: "pass", attributes: attributes(true), grantId: grant.id };
}
