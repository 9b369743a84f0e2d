import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { FORWARDABLE_METHODS } from "../forward/method-gate.ts";
import type {
  LocalRouteConfig,
  Match,
  ProtectedRouteConfig,
  PublicRouteConfig,
  RouteConfig,
  Upstream,
} from "./route-table.ts";

/** A protected route with its audience and identifiers made absolute for this deployment. */
export interface ProtectedRoute extends ProtectedRouteConfig {
  /** The `aud` tokens must carry here, and the gateway assertion's audience. */
  audienceUri: string;
  /** RFC 8707 / RFC 9728 resource identifier: `<issuer><path>`. */
  resourceUri: string;
  /** RFC 9728 §3.1: where this route's protected-resource metadata is (MCP routes only). */
  resourceMetadataUrl: string | undefined;
}

export type Route = PublicRouteConfig | LocalRouteConfig | ProtectedRoute;

export interface RouteTableSettings {
  issuer: string;
  apiAudience: string;
}

/**
 * The route table resolved for one deployment (once per isolate): exact
 * paths in a map, the others most specific first.
 */
export class RouteTable {
  private readonly exact = new Map<string, Route>();
  private readonly prefixed: { path: string; match: Match; route: Route }[] = [];
  /** The MCP routes by path, for their metadata documents. */
  readonly mcp = new Map<string, ProtectedRoute>();

  constructor(routes: readonly RouteConfig[], settings: RouteTableSettings) {
    const seen = new Set<string>();
    for (const config of routes) {
      const key = `${config.match} ${config.path}`;
      if (seen.has(key) || (config.match !== "below" && this.exact.has(config.path))) {
        throw new Error(`route table names ${config.path} twice`);
      }
      seen.add(key);
      const route = config.kind === "protected" ? resolveProtected(config, settings) : config;
      if (route.kind === "protected" && route.mcp) this.mcp.set(route.path, route);
      if (config.match !== "below") this.exact.set(config.path, route);
      if (config.match !== "exact") this.prefixed.push({ path: config.path, match: config.match, route });
    }
    this.prefixed.sort((a, b) => b.path.length - a.path.length);
  }

  /** The route for a normalised path, or undefined (404). */
  match(path: string): Route | undefined {
    const exact = this.exact.get(path);
    if (exact) return exact;
    for (const entry of this.prefixed) {
      // `/api/documentsX` is not under `/api/documents`.
      if (path.startsWith(entry.path) && path.charCodeAt(entry.path.length) === 0x2f) return entry.route;
    }
    return undefined;
  }
}

function resolveProtected(config: ProtectedRouteConfig, settings: RouteTableSettings): ProtectedRoute {
  if (config.mcp && config.match !== "exact") {
    // RFC 9728 §3.1: one metadata document per resource identifier.
    throw new Error(`MCP route ${config.path} must match exactly`);
  }
  checkUpstream(config.upstream);
  // RFC 9110 §9.3.8, §9.3.6: TRACE would reflect the request (cross-site tracing) and CONNECT open a
  // tunnel; neither, nor a method no Worker serves, is ever forwarded (forward/method-gate.ts).
  for (const method of Object.keys(config.methods)) {
    if (!FORWARDABLE_METHODS.includes(method)) throw new Error(`route ${config.path} names ${method}, never forwarded`);
  }
  const resourceUri = `${settings.issuer}${config.path}`;
  return {
    ...config,
    audienceUri: config.audience === "api" ? settings.apiAudience : resourceUri,
    resourceUri,
    resourceMetadataUrl: config.mcp
      ? `${settings.issuer}${ENDPOINT.protectedResourceMetadata}${config.path}`
      : undefined,
  };
}

/** A URL upstream is https, with no query or fragment to confuse the forwarded path with. */
function checkUpstream(upstream: Upstream): void {
  if ("binding" in upstream) return;
  const url = new URL(upstream.url);
  if (url.protocol !== "https:" || url.search || url.hash || url.username || url.password) {
    throw new Error(`upstream ${upstream.url} must be a plain https URL`);
  }
}
