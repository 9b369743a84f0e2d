/**
 * SCIM 2.0 provisioning (RFC 7643, RFC 7644) under ENDPOINT.scim, for one
 * org's directory per bearer token (scim/authenticate.ts).
 *
 * Why our own module and not @better-auth/scim: the plugin (1.7.5) runs
 * every provisioning change inside an interactive database transaction and
 * refuses adapters without one. Inside those callbacks it reads its own
 * writes (it creates the `scimUser` row, then reads it back by id to
 * project roles) and branches on conditional writes (`incrementOne` fences
 * on the connection and subject rows decide whether it goes on). D1 has no
 * interactive transactions; its `batch()` is atomic but takes all its
 * statements up front, so it can neither answer a read of a write it has
 * not run yet nor report a fence's outcome mid-callback. A `transaction`
 * shim over D1 would therefore either give no atomicity or emulate a
 * database in memory — neither is a transaction. This module instead makes
 * each change one D1 batch whose statements need no intermediate answers
 * (user-store.ts, group-store.ts), with uniqueness decided by D1's indexes.
 * test/authn/scim-d1-support.test.ts keeps the plugin's refusal pinned.
 */
import { Hono } from "hono";
import { ScimError, scimErrorResponse } from "../../../../shared/errors/scim.ts";
import { answerUnsupportedMethods } from "../../../../shared/http/unsupported-methods.ts";
import { attributeProjection } from "./attribute-projection.ts";
import { auditScimWrites } from "./audit.ts";
import { authenticateScim, type ScimApp } from "./authenticate.ts";
import { discoveryRoutes } from "./discovery.ts";
import { groupRoutes } from "./groups.ts";
import { userRoutes } from "./users.ts";

export function scimApp(): Hono<ScimApp> {
  const app = new Hono<ScimApp>();
  app.use("*", authenticateScim, auditScimWrites);
  // RFC 7644 §3.4.2.5, §3.9: `attributes` / `excludedAttributes` on every User and Group answer.
  for (const path of ["/Users", "/Users/:id", "/Groups", "/Groups/:id"]) app.use(path, attributeProjection);
  discoveryRoutes(app);
  userRoutes(app);
  groupRoutes(app);
  // In SCIM's own error format, before the authn app adds its generic 405s.
  answerUnsupportedMethods(app, (allow) => {
    const response = scimErrorResponse(new ScimError("method_not_allowed", `use ${allow}`));
    response.headers.set("Allow", allow);
    return response;
  });
  // A catch-all route, not `notFound`: mounted with `route()`, a sub-app's notFound is never
  // called (the parent's answers, in the login pages' format), so a directory probing /Bulk or /Me
  // got a body without RFC 7644 §3.12's schemas and status. After every route and 405 above.
  app.all("*", () => scimErrorResponse(new ScimError("not_found", "no such SCIM endpoint")));
  app.onError((error) => {
    if (error instanceof ScimError) return scimErrorResponse(error);
    console.error("authn worker (SCIM) failed", error);
    return scimErrorResponse(new ScimError("server_error", "internal error"));
  });
  return app;
}
