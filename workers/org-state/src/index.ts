export { OrgState } from "../../../shared/org-state/org-state.ts";

/** The objects are reached only through their binding, never over HTTP. */
export default {
  fetch: () => new Response(JSON.stringify({ error: "not_found" }), { status: 404, headers: { "Content-Type": "application/json" } }),
} satisfies ExportedHandler;
