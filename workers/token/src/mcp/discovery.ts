import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import {
  coveringGrant,
  MCP_RESOURCE_ATTRIBUTE,
  mcpResourceType,
  mcpServerPath,
} from "../../../../shared/contracts/mcp.ts";
import { orgStateName } from "../../../../shared/contracts/storage-keys.ts";
import { type CompiledPolicy, compilePolicy } from "../../../../shared/policy/compile-policy.ts";
import { decide } from "../../../../shared/policy/decide.ts";
import { DEFAULT_POLICY } from "../../../../shared/policy/default-policy.ts";
import { tokenAttributes } from "../../../../shared/policy/token-attributes.ts";
import type { DecisionInput } from "../../../../shared/policy/types.ts";
import { compileStored } from "../policies/document.ts";
import { findVersion } from "../policies/versions.ts";
import type { Agent } from "./authenticate-agent.ts";
import { grantCover, liveGrantsOfClient } from "./grants.ts";
import { listMcpServers, type McpServer } from "./registry.ts";

/** One tool as discovery shows it to an agent. */
export interface DiscoveredTool {
  name: string;
  sensitivity: string;
  /** The agent may call it now: the policy allows it, and a sensitive one is named by a live grant. */
  callable: boolean;
  /** A sensitive tool the policy would allow with a grant the agent does not hold: ask for access. */
  requires_grant: boolean;
}

export interface DiscoveredServer {
  name: string;
  /** Where to connect, and the `resource` (RFC 8707) to ask tokens for. */
  resource: string;
  resource_metadata: string;
  scopes: string[];
  description: string;
  tools: DiscoveredTool[];
  grants: { id: string; tools: string[]; scopes: string[]; expires_at: string }[];
}

let defaultPolicy: CompiledPolicy | undefined;

/**
 * The MCP servers and tools this agent may reach in its org (the agent
 * API's discovery): active servers whose session methods the org's current
 * policy lets the agent use, each with the tools the policy allows —
 * sensitive ones marked callable only under a live grant of this agent for
 * the principal it acts for. The same decision the gateway makes per call
 * (workers/gateway/src/protect.ts), asked ahead of time with the agent's
 * own attributes; the gateway still decides every call.
 */
export async function discoverServers(env: TokenEnv, issuer: string, agent: Agent): Promise<DiscoveredServer[]> {
  const [servers, grants, policy] = await Promise.all([
    listMcpServers(env.DB, issuer, agent.orgId),
    liveGrantsOfClient(env.DB, agent.orgId, agent.clientId),
    currentPolicy(env, agent.orgId),
  ]);
  const now = Date.now();
  const attributes = tokenAttributes(agent.claims);
  const out: DiscoveredServer[] = [];
  for (const server of servers) {
    if (server.status !== "active") continue;
    const serverGrants = grants.filter((g) => g.serverName === server.name && g.onBehalfOf === agent.onBehalfOf);
    const covers = serverGrants.map(grantCover);
    const ask = (method: string, tool: string, granted: boolean) =>
      decide(policy, decisionInput(server, attributes, method, tool, granted)).effect === "allow";
    if (!ask("tools/list", "", false)) continue;
    const tools: DiscoveredTool[] = [];
    for (const tool of server.tools) {
      const granted = coveringGrant(covers, tool.name, agent.onBehalfOf, now) !== undefined;
      const sensitive = tool.sensitivity === "sensitive";
      const allowed = ask("tools/call", tool.name, granted);
      const allowedWithGrant = sensitive && !granted && ask("tools/call", tool.name, true);
      if (!allowed && !allowedWithGrant) continue;
      tools.push({
        name: tool.name,
        sensitivity: tool.sensitivity,
        callable: allowed && (!sensitive || granted),
        requires_grant: sensitive && !granted,
      });
    }
    out.push({
      name: server.name,
      resource: server.resource,
      resource_metadata: `${issuer}${ENDPOINT.protectedResourceMetadata}${mcpServerPath(server.name)}`,
      scopes: server.scopes,
      description: server.description,
      tools,
      grants: serverGrants.map((g) => ({
        id: g.id,
        tools: g.tools,
        scopes: g.scopes,
        expires_at: g.expiresAt.toISOString(),
      })),
    });
  }
  return out;
}

function decisionInput(
  server: McpServer,
  attributes: ReturnType<typeof tokenAttributes>,
  method: string,
  tool: string,
  granted: boolean,
): DecisionInput {
  const sensitivity = server.tools.find((t) => t.name === tool)?.sensitivity ?? "";
  const path = mcpServerPath(server.name);
  return {
    ...attributes,
    resource: {
      type: mcpResourceType(server.name),
      attributes: { [MCP_RESOURCE_ATTRIBUTE.sensitivity]: sensitivity, [MCP_RESOURCE_ATTRIBUTE.granted]: granted },
    },
    action: "call",
    context: { method: "POST", path, mcp_method: method, mcp_tool: tool },
  };
}

/** The org's published policy (its Durable Object says which version), or the default. */
async function currentPolicy(env: TokenEnv, orgId: string): Promise<CompiledPolicy> {
  const { version } = await env.ORG_STATE.getByName(orgStateName(orgId)).policyPublication();
  if (version !== null) {
    const stored = await findVersion(env.DB, orgId, version);
    if (stored) return compileStored(stored.documentJson).compiled;
  }
  defaultPolicy ??= compilePolicy(DEFAULT_POLICY);
  return defaultPolicy;
}
