import type { Context, MiddlewareHandler } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { HttpError, httpErrorResponse } from "../../../../shared/errors/http.ts";
import type { AdminEnv, Operator } from "./types.ts";

/**
 * Paths outside `/orgs/{org}/…` that an org admin may call: each narrows its
 * answer to the caller's orgs itself (admin/orgs.ts lists only them,
 * admin/audit-trail.ts and admin/metrics.ts require one of them).
 */
const SELF_NARROWING: ReadonlySet<string> = new Set([
  "GET /orgs",
  "GET /audit/events",
  "GET /audit/verify",
  "GET /metrics",
  "GET /me",
]);

/**
 * `/orgs/{org}/…` → the org id; anything else → undefined. A segment that
 * is not valid percent-encoded UTF-8 (RFC 3986 §2.1, `%E0%A4%A`) names no
 * org anyone administers: null, refused like another org's id.
 */
function orgOfPath(path: string): string | null | undefined {
  const match = /^\/orgs\/([^/]+)\/./.exec(path);
  if (match?.[1] === undefined) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch (error) {
    if (error instanceof URIError) return null;
    throw error;
  }
}

/**
 * Per-org authorisation, deny by default: a platform operator may call
 * everything; an org admin only routes under `/orgs/{org}/` of an org it
 * administers, and the few self-narrowing reads above. A route a noun adds
 * is therefore open to org admins exactly when it lives under its org, and
 * a platform-wide one (keys, org creation) stays the platform's without
 * anyone remembering to close it. 403 `forbidden` otherwise.
 */
export function authorizeReach(): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const { reach } = c.get("operator");
    if (!reach.platform) {
      const path = new URL(c.req.url).pathname.slice(ENDPOINT.admin.length) || "/";
      if (!orgAdminReaches(reach.orgIds, c.req.method, path)) {
        return httpErrorResponse("forbidden", "you administer other organizations only");
      }
    }
    await next();
  };
}

/**
 * Whether an admin of `orgIds` may call `method path` (the path below
 * ENDPOINT.admin). Exported so the OpenAPI document's `x-access` can be
 * held to it (test/token/admin-openapi.test.ts).
 */
export function orgAdminReaches(orgIds: ReadonlySet<string>, method: string, path: string): boolean {
  const org = orgOfPath(path);
  return org === undefined ? SELF_NARROWING.has(`${method} ${path}`) : org !== null && orgIds.has(org);
}

/** Whether the caller may act on (or read about) this org. */
export function mayActOn(operator: Operator, orgId: string): boolean {
  return operator.reach.platform || operator.reach.orgIds.has(orgId);
}

/** For self-narrowing routes: the org named must be the caller's (403 `forbidden`). */
export function requireReach(c: Context<AdminEnv>, orgId: string | undefined): void {
  const operator = c.get("operator");
  if (operator.reach.platform) return;
  if (orgId === undefined || !mayActOn(operator, orgId)) {
    throw new HttpError("forbidden", "name one of the organizations you administer (org=)");
  }
}
