import { ENDPOINT } from "../../../shared/contracts/endpoints.ts";
import { TRUSTED_HEADER } from "../../../shared/contracts/headers.ts";
import { httpErrorResponse } from "../../../shared/errors/http.ts";
import { matchesFilter, parseDataFilter } from "../../../shared/policy/filter.ts";
import { documentStore } from "./documents.ts";
import { echo } from "./echo.ts";

/**
 * The seed's downstream service. It does no token parsing and no policy: it
 * trusts the gateway's headers, and without them it refuses (fails closed).
 */
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname !== ENDPOINT.documents && url.pathname !== ENDPOINT.demoEcho) {
      return httpErrorResponse("not_found", "no such path");
    }
    const userId = request.headers.get(TRUSTED_HEADER.userId);
    const orgId = request.headers.get(TRUSTED_HEADER.orgId);
    const filter = parseDataFilter(request.headers.get(TRUSTED_HEADER.abacFilter));
    if (!userId || !orgId || !filter) {
      return httpErrorResponse("missing_gateway_headers", "this service is reachable only through the gateway");
    }
    if (url.pathname === ENDPOINT.demoEcho) return echo(request, url);
    const documents = documentStore(orgId).filter((row) => matchesFilter({ ...row }, filter));
    return Response.json({
      user_id: userId,
      org_id: orgId,
      actor_id: request.headers.get(TRUSTED_HEADER.actorId),
      documents,
    });
  },
} satisfies ExportedHandler;
