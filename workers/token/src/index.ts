export { OrgState } from "../../../shared/org-state/org-state.ts";
export default { fetch: () => new Response("todo") } satisfies ExportedHandler;
