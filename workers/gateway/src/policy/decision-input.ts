import type { AccessTokenClaims } from "../../../../shared/contracts/tokens.ts";
import { tokenAttributes } from "../../../../shared/policy/token-attributes.ts";
import type { AttributeValue, DecisionInput } from "../../../../shared/policy/types.ts";
import type { McpRequest } from "../mcp/read-mcp-request.ts";

export interface RequestFacts {
  method: string;
  /** The normalised path (routing/normalise-path.ts): the one the route matched and the upstream gets. */
  path: string;
  /** The client's address as the edge gave it (forward/forwarding-headers.ts believes nothing else). */
  ip: string | undefined;
  /** For an MCP route: what the JSON-RPC body asks for. */
  mcp: McpRequest | undefined;
}

/** What the PDP decides on: the token's subject and actor, the route's resource and action, the request's context. */
export function decisionInput(
  claims: AccessTokenClaims,
  resource: string,
  action: string,
  facts: RequestFacts,
  /** What the route knows of the resource (an MCP tool's sensitivity and grant: mcp/tool-gate.ts). */
  attributes?: Readonly<Record<string, AttributeValue>>,
): DecisionInput {
  return {
    ...tokenAttributes(claims),
    resource: attributes ? { type: resource, attributes } : { type: resource },
    action,
    context: {
      method: facts.method,
      path: facts.path,
      ip: facts.ip ?? "",
      // authenticate() has verified the proof for a cnf.jkt token.
      dpop_bound: claims.cnf?.jkt !== undefined,
      ...(facts.mcp ? { mcp_method: facts.mcp.method, mcp_tool: facts.mcp.tool ?? "" } : {}),
    },
  };
}
