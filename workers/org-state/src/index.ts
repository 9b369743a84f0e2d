import { httpErrorResponse } from "../../../shared/errors/http.ts";

export { OrgState } from "./org-state.ts";
export { MintLimiter } from "./mint-limiter.ts";
export { ReplayGuard } from "./replay-guard.ts";

/** The objects are reached only through their binding, never over HTTP. */
export default {
  fetch: () => httpErrorResponse("not_found", "reached only through its binding"),
} satisfies ExportedHandler;
