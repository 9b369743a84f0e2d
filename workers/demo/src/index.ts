import { ENDPOINT } from "../../../shared/contracts/endpoints.ts";
import { VAULT_DEMO } from "../../../shared/contracts/vault.ts";
import { TRUSTED_HEADER } from "../../../shared/contracts/headers.ts";
import { httpErrorResponse } from "../../../shared/errors/http.ts";
import { healthResponse } from "../../../shared/observability/log.ts";
import { GatewayAssertionError } from "../../../shared/gateway-assertion/errors.ts";
import { matchesFilter, parseDataFilter } from "../../../shared/policy/filter.ts";
import { type DemoConfig, type DemoVars, parseDemoConfig } from "./config.ts";
import { echo } from "./echo.ts";
import { filteredRows, handleMcp, isRegisteredMcpPath } from "./mcp.ts";

let config: DemoConfig | undefined;

/**
 * The seed's downstream service. It does no token parsing and no policy: it
 * trusts the gateway's headers, and only once the gateway's signed assertion
 * (shared/gateway-assertion) vouches that they were set by the gateway, for
 * this request and this service; without them it refuses (fails closed).
 */
/** The echo service, also where the gateway serves it with a saved connection (shared/contracts/vault.ts). */
function isEcho(path: string): boolean {
  return path === ENDPOINT.demoEcho || path === VAULT_DEMO.path;
}

export default {
  async fetch(request, env) {
    config ??= parseDemoConfig(env);
    const url = new URL(request.url);
    const path = url.pathname;
    // Liveness on the binding (the gateway's /health asks it); it reveals nothing.
    if (path === ENDPOINT.health) return healthResponse("demo");
    const audience =
      path === ENDPOINT.mcpDemo
        ? config.mcpAudience
        : isRegisteredMcpPath(path)
          ? `${config.issuer}${path}`
          : path === ENDPOINT.documents || isEcho(path)
            ? config.apiAudience
            : undefined;
    if (!audience) return httpErrorResponse("not_found", "no such path");
    const userId = request.headers.get(TRUSTED_HEADER.userId);
    const orgId = request.headers.get(TRUSTED_HEADER.orgId);
    const filter = parseDataFilter(request.headers.get(TRUSTED_HEADER.abacFilter));
    if (!userId || !orgId || !filter) {
      return httpErrorResponse("missing_gateway_headers", "this service is reachable only through the gateway");
    }
    try {
      await config.assertions.verify(request, url, { audience });
    } catch (error) {
      if (!(error instanceof GatewayAssertionError)) throw error;
      return httpErrorResponse("invalid_gateway_assertion", error.publicDescription);
    }
    const rows = () => filteredRows(orgId, (row) => matchesFilter({ ...row }, filter));
    if (isEcho(path)) return echo(request, url);
    if (path === ENDPOINT.mcpDemo || isRegisteredMcpPath(path)) return handleMcp(request, rows);
    return Response.json({
      user_id: userId,
      org_id: orgId,
      actor_id: request.headers.get(TRUSTED_HEADER.actorId),
      documents: rows(),
    });
  },
} satisfies ExportedHandler<DemoVars>;
