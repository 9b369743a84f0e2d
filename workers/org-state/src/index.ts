import { ENDPOINT } from "../../../shared/contracts/endpoints.ts";
import { httpErrorResponse } from "../../../shared/errors/http.ts";
import { healthResponse } from "../../../shared/observability/log.ts";

export { OrgState } from "./org-state.ts";
export { MintLimiter } from "./mint-limiter.ts";
export { ReplayGuard } from "./replay-guard.ts";

/**
 * The objects are reached only through their bindings, never over HTTP. The
 * one thing this fetch answers is GET /health, asked over the gateway's
 * service binding (workers/gateway/src/observability/health.ts): this Worker
 * has no route or workers.dev address, so nothing else can ask, and the
 * answer reveals nothing.
 */
export default {
  fetch: (request) => {
    const isRead = request.method === "GET" || request.method === "HEAD";
    if (isRead && new URL(request.url).pathname === ENDPOINT.health) return healthResponse("org-state");
    return httpErrorResponse("not_found", "reached only through its binding");
  },
} satisfies ExportedHandler;
