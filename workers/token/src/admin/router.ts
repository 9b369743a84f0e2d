import { Hono, type MiddlewareHandler } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { tokenConfig } from "../config.ts";
import { openApiJson } from "../openapi/document.ts";
import { accessRequestRoutes } from "./access-requests.ts";
import { auditAdminCalls } from "./audit.ts";
import { auditTrailRoutes } from "./audit-trail.ts";
import { authenticateOperator } from "./authenticate-operator.ts";
import { authorizeReach } from "./authorize.ts";
import { clientRegistrationRoutes } from "./client-registration.ts";
import { clientRoutes } from "./clients.ts";
import { delegationGrantRoutes } from "./delegation-grants.ts";
import { adminErrorResponse } from "./errors.ts";
import { inviteRoutes } from "./invites.ts";
import { keyRoutes } from "./keys.ts";
import { meRoutes } from "./me.ts";
import { memberChangeRoutes } from "./member-changes.ts";
import { memberRoutes } from "./members.ts";
import { metricsRoutes } from "./metrics.ts";
import { oidcClientRoutes } from "./oidc-clients.ts";
import { mcpServerRoutes } from "./mcp-servers.ts";
import { orgRoutes } from "./orgs.ts";
import { policyRoutes } from "./policies.ts";
import { problemDetails } from "./problem-details.ts";
import { revocationRoutes } from "./revocations.ts";
import { ssfStreamRoutes } from "./ssf-streams.ts";
import { route } from "./route.ts";
import { scimTokenRoutes } from "./scim-tokens.ts";
import { tokenPolicyRoutes } from "./token-policy.ts";
import { trustedIssuerRoutes } from "./trusted-issuers.ts";
import { userSessionRoutes } from "./user-sessions.ts";
import { userRoutes } from "./users.ts";
import { vaultRoutes } from "./vault.ts";
import type { AdminApp, AdminEnv } from "./types.ts";

/** The document's path inside the router (ENDPOINT.adminOpenApi). */
const OPENAPI_PATH = ENDPOINT.adminOpenApi.slice(ENDPOINT.admin.length);

/**
 * The admin API (ENDPOINT.admin, JSON in and out), for platform operators
 * and the `mono-auth` CLI (bearer tokens, admin/authenticate-operator.ts)
 * and for the console (sessions over RPC, admin/console-entrypoint.ts).
 * Every call is audited (admin/audit.ts), then authenticated, then
 * authorised per org (admin/authorize.ts); errors are problem details
 * (admin/problem-details.ts). Each noun registers its own routes, one line
 * each below, with admin/route.ts so the OpenAPI document
 * (openapi/document.ts, served first and unauthenticated) describes them.
 */
export function adminRouter(authenticate: MiddlewareHandler<AdminEnv> = authenticateOperator()): AdminApp {
  const admin = new Hono<AdminEnv>();
  // Registered before the middleware: answered without authentication or audit.
  route(admin, "get", OPENAPI_PATH, { summary: "This OpenAPI document (no authentication)", orgAdmins: "self" }, (c) =>
    c.body(openApiJson(admin, tokenConfig(c.env).issuer), 200, {
      "Content-Type": "application/json",
      "Cache-Control": "public, max-age=300",
    }),
  );
  admin.use("*", problemDetails(), auditAdminCalls(), authenticate, authorizeReach());
  admin.onError((error) => adminErrorResponse(error));
  orgRoutes(admin);
  clientRoutes(admin);
  tokenPolicyRoutes(admin);
  trustedIssuerRoutes(admin);
  delegationGrantRoutes(admin);
  inviteRoutes(admin);
  keyRoutes(admin);
  auditTrailRoutes(admin);
  policyRoutes(admin);
  revocationRoutes(admin);
  ssfStreamRoutes(admin);
  vaultRoutes(admin);
  memberRoutes(admin);
  memberChangeRoutes(admin);
  metricsRoutes(admin);
  meRoutes(admin);
  userRoutes(admin);
  userSessionRoutes(admin);
  mcpServerRoutes(admin);
  accessRequestRoutes(admin);
  oidcClientRoutes(admin);
  scimTokenRoutes(admin);
  clientRegistrationRoutes(admin);
  return admin;
}
