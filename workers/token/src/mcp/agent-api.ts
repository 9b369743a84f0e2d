import { Hono } from "hono";
import {
  AGENT_API,
  MAX_GRANT_TTL_SECONDS,
  MCP_SERVER_NAME,
  MCP_TOOL_NAME,
  ON_BEHALF_OF_ORG,
} from "../../../../shared/contracts/mcp.ts";
import { HttpError, httpErrorResponse } from "../../../../shared/errors/http.ts";
import { adminErrorResponse } from "../admin/errors.ts";
import { onlyFields, optionalInteger, optionalList, optionalString, requiredString } from "../admin/validate.ts";
import { tokenConfig } from "../config.ts";
import { listAccessRequests } from "./access-requests.ts";
import { type AgentEnv, authenticateAgent } from "./authenticate-agent.ts";
import { discoverServers } from "./discovery.ts";
import { fileAccessRequest } from "./review.ts";
import { accessRequestView } from "./views.ts";
import { readJsonObject } from "../../../../shared/http/read-json.ts";

const MAX_BODY_BYTES = 16 * 1024;

/**
 * The agent API (AGENT_API, routed by the gateway to the token Worker; JSON
 * in and out, errors shared/errors/http.ts JSON, RFC 6750 for the token):
 *
 * - GET `/agent/v1/mcp-servers` → `{ servers: [...] }` (mcp/discovery.ts):
 *   what this agent may reach in its org, with resource identifiers, scopes
 *   and which tools need a grant.
 * - POST `/agent/v1/access-requests` `{ server, tools?, scopes?,
 *   on_behalf_of?, reason, ttl_seconds? }` → 201 the pending request.
 *   `on_behalf_of` is `org` (the agent acting as itself) or a member's user
 *   id; a delegated token can ask only for the person it acts for (403
 *   `forbidden` otherwise). 400 `invalid_body` naming the field.
 * - GET `/agent/v1/access-requests` → `{ access_requests: [...] }`: this
 *   agent's own requests, newest first, so it can wait for a decision.
 */
export function agentApi(): Hono<AgentEnv> {
  const api = new Hono<AgentEnv>();
  api.use("*", authenticateAgent());
  api.onError((error) => adminErrorResponse(error));

  api.get(AGENT_API.mcpServers.slice(AGENT_API.prefix.length), async (c) => {
    const servers = await discoverServers(c.env, tokenConfig(c.env).issuer, c.get("agent"));
    return c.json({ servers });
  });

  api.post(AGENT_API.accessRequests.slice(AGENT_API.prefix.length), async (c) => {
    const agent = c.get("agent");
    const body = await readJson(c.req.raw);
    onlyFields(body, ["server", "tools", "scopes", "on_behalf_of", "reason", "ttl_seconds"]);
    const server = requiredString(body, "server", { max: 63, pattern: MCP_SERVER_NAME, patternText: "a server name" });
    const tools =
      optionalList(body, "tools", { maxItems: 64, itemMax: 128, check: (t) => MCP_TOOL_NAME.test(t) }) ?? [];
    const scopes = optionalList(body, "scopes", { maxItems: 32, itemMax: 128 }) ?? [];
    const onBehalfOf = optionalString(body, "on_behalf_of", { max: 128 }) ?? agent.onBehalfOf;
    if (onBehalfOf !== agent.onBehalfOf && agent.onBehalfOf !== ON_BEHALF_OF_ORG) {
      throw new HttpError("forbidden", "on_behalf_of: a delegated token asks only for the person it acts for");
    }
    const reason = requiredString(body, "reason", { max: 1024 });
    const ttlSeconds = optionalInteger(body, "ttl_seconds", { min: 60, max: MAX_GRANT_TTL_SECONDS }) ?? undefined;
    const request = await fileAccessRequest(
      { env: c.env, config: tokenConfig(c.env), waitUntil: (p) => c.executionCtx.waitUntil(p) },
      { orgId: agent.orgId, clientId: agent.clientId, server, tools, scopes, onBehalfOf, reason, ttlSeconds },
    );
    return c.json(accessRequestView(request), 201);
  });

  api.get(AGENT_API.accessRequests.slice(AGENT_API.prefix.length), async (c) => {
    const agent = c.get("agent");
    // The agent's newest 100: the store reads one past the page, which only says more exist.
    const requests = await listAccessRequests(c.env.DB, agent.orgId, { clientId: agent.clientId }, { limit: 100 });
    return c.json({ access_requests: requests.slice(0, 100).map(accessRequestView) });
  });

  api.notFound(() => httpErrorResponse("not_found", "no such endpoint"));
  return api;
}

/** The JSON object body (shared/http/read-json.ts), at most MAX_BODY_BYTES: 413 `payload_too_large` beyond. */
function readJson(request: Request): Promise<Record<string, unknown>> {
  return readJsonObject(request, MAX_BODY_BYTES);
}
