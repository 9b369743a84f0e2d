import { jsonErrorResponse } from "../../../shared/errors/http.ts";

export { OrgState } from "../../../shared/org-state/org-state.ts";

/** The objects are reached only through their binding, never over HTTP. */
export default {
  fetch: () => jsonErrorResponse(404, "not_found", "reached only through its binding"),
} satisfies ExportedHandler;
