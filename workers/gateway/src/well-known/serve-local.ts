import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { methodNotAllowed } from "../../../../shared/http/unsupported-methods.ts";
import type { AssertionSigner } from "../assertion/assertion-signer.ts";
import type { RouteTable } from "../routing/match-route.ts";
import { LOCAL_ROUTE_METHODS, type LocalRouteConfig } from "../routing/route-table.ts";
import { registeredMcpMetadata } from "../mcp/registered-route.ts";
import type { McpRegistryCache } from "../mcp/registry-cache.ts";
import { protectedResourceMetadata } from "./protected-resource-metadata.ts";

export interface LocalDeps {
  issuer: string;
  routes: RouteTable;
  signer: Promise<AssertionSigner>;
  mcpRegistry: McpRegistryCache;
  /** GET /health (observability/health.ts), bound to this request. */
  health: () => Promise<Response>;
}

/** Public metadata: cacheable, and readable by browser-based clients of any origin (it carries no credential). */
const METADATA_HEADERS = {
  "Cache-Control": "public, max-age=300",
  "Access-Control-Allow-Origin": "*",
} as const;

/** What the gateway answers itself: RFC 9728 metadata, its assertion keys, its health. All are reads. */
export async function serveLocal(route: LocalRouteConfig, path: string, request: Request, deps: LocalDeps) {
  if (!LOCAL_ROUTE_METHODS.includes(request.method)) return methodNotAllowed(LOCAL_ROUTE_METHODS.join(", "));
  if (route.handler === "health") return deps.health();
  if (route.handler === "gateway-jwks") {
    const signer = await deps.signer;
    return Response.json({ keys: [signer.publicJwk] }, { headers: METADATA_HEADERS });
  }
  let metadata = protectedResourceMetadata(path, ENDPOINT.protectedResourceMetadata, deps.issuer, deps.routes);
  if (!metadata) {
    // An MCP server an org registered (mcp/registered-route.ts).
    try {
      metadata = await registeredMcpMetadata(path, deps.mcpRegistry, deps.issuer);
    } catch (error) {
      console.error("mcp registry unavailable", error);
      return httpErrorResponse("temporarily_unavailable", "MCP registry unavailable, retry");
    }
  }
  if (!metadata) return httpErrorResponse("not_found", "no protected resource at this path");
  return Response.json(metadata, { headers: METADATA_HEADERS });
}
