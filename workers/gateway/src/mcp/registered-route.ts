import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import {
  DEMO_MCP_SERVER,
  MCP_PATH_PREFIX,
  MCP_SERVER_NAME,
  type McpServerRoute,
  type McpUpstream,
  mcpResourceType,
  upstreamServesResource,
} from "../../../../shared/contracts/mcp.ts";
import type { AccessTokenClaims } from "../../../../shared/contracts/tokens.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { OUTBOUND_URL_FORBIDDEN, publicOutboundUrlProblem } from "../../../../shared/http/outbound-url.ts";
import type { ProtectedResourceMetadata } from "../well-known/protected-resource-metadata.ts";
import { DPOP_SIGNING_ALGS } from "../../../../shared/contracts/tokens.ts";
import type { ProtectedRoute } from "../routing/match-route.ts";
import { extractBearerToken } from "../trust/bearer-token.ts";
import type { McpRequest } from "./read-mcp-request.ts";
import type { McpRegistryCache } from "./registry-cache.ts";
import { type GatedServer, gateTool, type ToolGate } from "./tool-gate.ts";

/**
 * MCP servers an org registered (workers/token/src/mcp/registry.ts), fronted
 * at `/mcp/<name>` next to the route table's own routes. The path and the
 * resource identifier `<issuer>/mcp/<name>` are shared by every org that
 * registers the name; which org's server a request reaches is decided by its
 * token's `org_id` — read unverified only to pick the route, then required
 * of the verified token (protect.ts `onlyOrgId`), so a token of an org
 * without the server is refused, never forwarded to another org's upstream.
 */
export interface RegisteredMcpRoute {
  route: ProtectedRoute;
  /** Where the request goes: the upstream URL itself (an MCP server has one endpoint), or the binding with the path. */
  target: string;
  onlyOrgId: string;
  server: GatedServer;
  /**
   * Why the org's server will not be fetched, if it will not. Chosen on the
   * unverified `org_id`, so it is answered only to a verified token of that
   * org (protect.ts, after `onlyOrgId`): answered here, it told anyone who
   * wrote a token by hand that another org's server is misconfigured.
   */
  upstreamRefusal?: UpstreamRefusal;
  /**
   * The scopes a challenge to a caller not yet verified names: every org's
   * for the name, as the RFC 9728 metadata does. The route's own scopes are
   * the token's org's (picked unverified), named only once it is verified.
   */
  unverifiedScopes: string[];
}

/** A registered server's upstream the gateway refuses to send a request to: 502 upstream_forbidden, with this code. */
export interface UpstreamRefusal {
  code: typeof OUTBOUND_URL_FORBIDDEN | "ERR_SAVED_CONNECTION_ELSEWHERE";
  description: string;
}

/** The answer to a verified caller of the org whose server is refused. */
export function upstreamRefusedResponse(refusal: UpstreamRefusal): Response {
  return httpErrorResponse("upstream_forbidden", `${refusal.code}: ${refusal.description}`);
}

/** `/mcp/<name>` → name, for a name the registry could hold. */
export function registeredMcpName(path: string): string | undefined {
  if (!path.startsWith(`${MCP_PATH_PREFIX}/`)) return undefined;
  const name = path.slice(MCP_PATH_PREFIX.length + 1);
  return MCP_SERVER_NAME.test(name) && name !== DEMO_MCP_SERVER.name ? name : undefined;
}

/**
 * The route for a registered server's path: undefined when no org has an
 * active server of the name (the caller answers 404), a 503 answer when
 * the registry cannot be read (fail closed).
 */
export async function registeredMcpRoute(
  path: string,
  request: Request,
  url: URL,
  registry: McpRegistryCache,
  issuer: string,
): Promise<RegisteredMcpRoute | Response | undefined> {
  const name = registeredMcpName(path);
  if (!name) return undefined;
  let servers: McpServerRoute[];
  try {
    servers = await registry.serversNamed(name);
  } catch (error) {
    console.error("mcp registry unavailable", error);
    return httpErrorResponse("temporarily_unavailable", "MCP registry unavailable, retry");
  }
  if (servers.length === 0) return undefined;
  const orgId = unverifiedOrgId(request, url);
  const server = servers.find((s) => s.orgId === orgId);
  // Without a token of an org that has it, the route only answers challenges:
  // it names every org's scopes for the name, and serves nobody (onlyOrgId "").
  const everyOrgsScopes = [...new Set(servers.flatMap((s) => s.scopes))];
  const scopes = server ? server.scopes : everyOrgsScopes;
  const upstream = server?.upstream ?? { binding: "DEMO" as const };
  const upstreamRefusal = refusalOf(upstream, server);
  const resourceUri = `${issuer}${path}`;
  const route: ProtectedRoute = {
    kind: "protected",
    path,
    match: "exact",
    upstream,
    audience: "resource",
    resource: mcpResourceType(name),
    methods: { POST: "call" },
    scopes,
    mcp: true,
    allowActiveContent: false,
    audienceUri: resourceUri,
    resourceUri,
    resourceMetadataUrl: `${issuer}${ENDPOINT.protectedResourceMetadata}${path}`,
    // The upstream gets the org's saved token for the server, never the agent's (docs/vault.md).
    ...(server?.savedConnection ? { savedConnection: server.savedConnection } : {}),
  };
  const target = "url" in upstream ? `${upstream.url}${url.search}` : `${url.origin}${path}${url.search}`;
  return {
    route,
    target,
    onlyOrgId: server?.orgId ?? "",
    server: { name, tools: server?.tools ?? [] },
    ...(upstreamRefusal ? { upstreamRefusal } : {}),
    unverifiedScopes: everyOrgsScopes,
  };
}

function refusalOf(upstream: McpUpstream, server: McpServerRoute | undefined): UpstreamRefusal | undefined {
  if (!("url" in upstream)) return undefined;
  // The outbound URL guard at the fetch, not only when the admin API stored the URL: a row written
  // around it (or before it) must not send the caller's request, the gateway assertion and an
  // injected saved token to an internal address (shared/http/outbound-url.ts). A 502, not a 500: the
  // registered upstream is what is wrong, and a caller retrying or alerting on our 5xx should tell them apart.
  if (publicOutboundUrlProblem(upstream.url) !== undefined)
    return { code: OUTBOUND_URL_FORBIDDEN, description: "the server's upstream may not be fetched" };
  // A saved token goes only to the resource it was saved for (RFC 8707 §2; the MCP spec forbids
  // passing a token to a server it was not issued for): an org admin naming the org's provider on a
  // server at a host of their own would otherwise receive the token the vault never shows anyone.
  if (server?.savedConnection && !upstreamServesResource(upstream.url, server.savedConnection.resource))
    return {
      code: "ERR_SAVED_CONNECTION_ELSEWHERE",
      description: "the server's upstream is not the resource its saved connection's tokens are for",
    };
  return undefined;
}

/** RFC 9728 metadata for a registered name (the path-suffixed form), or undefined. */
export async function registeredMcpMetadata(
  metadataPath: string,
  registry: McpRegistryCache,
  issuer: string,
): Promise<ProtectedResourceMetadata | undefined> {
  const path = metadataPath.slice(ENDPOINT.protectedResourceMetadata.length);
  const name = registeredMcpName(path);
  if (!name) return undefined;
  const servers = await registry.serversNamed(name);
  if (servers.length === 0) return undefined;
  return {
    resource: `${issuer}${path}`,
    authorization_servers: [issuer],
    scopes_supported: [...new Set(servers.flatMap((s) => s.scopes))],
    bearer_methods_supported: ["header"],
    dpop_signing_alg_values_supported: [...DPOP_SIGNING_ALGS],
  };
}

/** The tool gate for an MCP route: the demo's tools from the contract, a registered server's from the registry. */
export function mcpToolGate(
  route: ProtectedRoute,
  registered: RegisteredMcpRoute | undefined,
  registry: McpRegistryCache,
): (claims: AccessTokenClaims, mcp: McpRequest) => Promise<ToolGate> {
  const server: GatedServer =
    registered?.server ??
    (route.path === ENDPOINT.mcpDemo
      ? DEMO_MCP_SERVER
      : { name: route.path.slice(MCP_PATH_PREFIX.length + 1), tools: [] });
  return (claims, mcp) => gateTool(claims, server, mcp, registry);
}

/** The `org_id` an access token claims, unverified (only to choose the route; protect.ts verifies it). */
function unverifiedOrgId(request: Request, url: URL): string | undefined {
  const extracted = extractBearerToken(request.headers, url);
  if (extracted.kind !== "token") return undefined;
  const payload = extracted.token.split(".")[1];
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const orgId = (JSON.parse(json) as { org_id?: unknown }).org_id;
    return typeof orgId === "string" ? orgId : undefined;
  } catch {
    return undefined;
  }
}
