import { Hono } from "hono";
import { auditAdminCalls } from "./audit.ts";
import { auditTrailRoutes } from "./audit-trail.ts";
import { authenticateOperator } from "./authenticate-operator.ts";
import { clientRoutes } from "./clients.ts";
import { delegationGrantRoutes } from "./delegation-grants.ts";
import { adminErrorResponse } from "./errors.ts";
import { inviteRoutes } from "./invites.ts";
import { keyRoutes } from "./keys.ts";
import { orgRoutes } from "./orgs.ts";
import { policyRoutes } from "./policies.ts";
import { problemDetails } from "./problem-details.ts";
import { revocationRoutes } from "./revocations.ts";
import { tokenPolicyRoutes } from "./token-policy.ts";
import { trustedIssuerRoutes } from "./trusted-issuers.ts";
import type { AdminApp, AdminEnv } from "./types.ts";

/**
 * The admin API (ENDPOINT.admin, JSON in and out), for platform operators
 * and the `mono-auth` CLI. Every call is audited (admin/audit.ts), then
 * authenticated (admin/authenticate-operator.ts); each noun registers its
 * own routes, one line each below.
 */
export function adminRouter(): AdminApp {
  const admin = new Hono<AdminEnv>();
  admin.use("*", problemDetails(), auditAdminCalls(), authenticateOperator());
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
  return admin;
}
