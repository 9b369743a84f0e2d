import { DPOP_SIGNING_ALGS } from "../../../../shared/contracts/tokens.ts";
import type { ProtectedRoute, RouteTable } from "../routing/match-route.ts";

/** RFC 9728 §2, as the gateway serves it for its MCP routes. */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: string[];
  dpop_signing_alg_values_supported: string[];
}

/**
 * RFC 9728 §3 metadata for the MCP routes (MCP authorization: servers MUST
 * serve it, clients MUST use it to find the authorization server).
 *
 * - Path-suffixed form, `/.well-known/oauth-protected-resource/<route path>`:
 *   one document per MCP route, whose `resource` is the route's identifier
 *   `<issuer><path>` — the audience its tokens must carry — as §3.3 requires
 *   of a document fetched from that URL. Every 401 and 403 of the route names
 *   it in `resource_metadata` (§5.1).
 * - Root form, `/.well-known/oauth-protected-resource`: for clients that
 *   probe the origin (the MCP spec's fallback). Its `resource` is the origin
 *   itself (§3.3 again), listing every MCP route's scopes; a token for the
 *   origin is accepted by no route, and the refusal names the route's own
 *   document.
 *
 * Bearer tokens in the Authorization header only (RFC 6750 §2.1; the query
 * and form-body methods are refused, trust/bearer-token.ts), DPoP proofs with
 * the algorithms the shared verifier accepts.
 */
export function protectedResourceMetadata(
  path: string,
  prefix: string,
  issuer: string,
  routes: RouteTable,
): ProtectedResourceMetadata | undefined {
  if (path === prefix) {
    const scopes = new Set<string>();
    for (const route of routes.mcp.values()) for (const scope of route.scopes) scopes.add(scope);
    return document(issuer, issuer, [...scopes]);
  }
  const route: ProtectedRoute | undefined = routes.mcp.get(path.slice(prefix.length));
  return route ? document(route.resourceUri, issuer, [...route.scopes]) : undefined;
}

function document(resource: string, issuer: string, scopes: string[]): ProtectedResourceMetadata {
  return {
    resource,
    authorization_servers: [issuer],
    scopes_supported: scopes,
    bearer_methods_supported: ["header"],
    dpop_signing_alg_values_supported: [...DPOP_SIGNING_ALGS],
  };
}
