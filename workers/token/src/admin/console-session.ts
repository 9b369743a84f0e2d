import { and, eq, gt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { MiddlewareHandler } from "hono";
import { CONSOLE_CLIENT_ID, ORG_ADMIN_ROLES } from "../../../../shared/contracts/console-admin.ts";
import { SECOND_FACTOR_REQUIRED } from "../../../../shared/contracts/second-factor.ts";
import { member, session, user } from "../../../../shared/db/auth-schema.ts";
import { platformOperator } from "../../../../shared/db/machine-schema.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { secondFactorPassed } from "../sessions/second-factor.ts";
import type { AdminEnv, Operator } from "./types.ts";

/**
 * The session token each console request was handed over with
 * (admin/console-entrypoint.ts). Keyed by the Request object itself: only
 * code in this Worker that holds the object can attach one, so nothing a
 * caller sends (a header, a cookie) can claim a session here.
 */
const consoleSessions = new WeakMap<Request, string>();

export function attachConsoleSession(request: Request, sessionToken: string): void {
  consoleSessions.set(request, sessionToken);
}

/** Whether a Better Auth member role (comma-separated when several) makes its holder an org admin. */
function isAdminRole(role: string): boolean {
  return role.split(",").some((r) => ORG_ADMIN_ROLES.includes(r.trim()));
}

/**
 * The person behind a live Better Auth session, as an admin API caller:
 * undefined when the session is unknown or expired, SECOND_FACTOR_REQUIRED
 * when its person turned the second factor on and this session has not
 * passed it (a social or SSO sign-in, a session from before 2FA: it steps
 * up at /two-factor, docs/authn.md). Read from D1 on every call (Better
 * Auth's own store): a signed-out session, a person no longer a platform
 * operator or demoted in an org, acts no more from that moment.
 */
export async function consoleOperator(
  db: D1Database,
  sessionToken: string,
): Promise<Operator | typeof SECOND_FACTOR_REQUIRED | undefined> {
  if (!sessionToken || sessionToken.length > 512) return undefined;
  const orm = drizzle(db);
  const now = new Date();
  const live = await orm
    .select({
      id: session.id,
      userId: session.userId,
      secondFactorPassed: secondFactorPassed(now),
    })
    .from(session)
    .innerJoin(user, eq(user.id, session.userId))
    .where(and(eq(session.token, sessionToken), gt(session.expiresAt, now)))
    .get();
  if (!live) return undefined;
  // The session exchange and Better Auth's sensitive endpoints refuse such a session; the console is more sensitive still.
  if (!live.secondFactorPassed) return SECOND_FACTOR_REQUIRED;
  const [operatorRow, memberships] = await orm.batch([
    orm
      .select({ userId: platformOperator.userId })
      .from(platformOperator)
      .where(eq(platformOperator.userId, live.userId)),
    orm.select({ orgId: member.organizationId, role: member.role }).from(member).where(eq(member.userId, live.userId)),
  ]);
  const base = { clientId: CONSOLE_CLIENT_ID, subject: live.userId, jti: null, sessionId: live.id };
  if (operatorRow.length > 0) return { ...base, reach: { platform: true } };
  const orgIds = new Set(memberships.filter((m) => isAdminRole(m.role)).map((m) => m.orgId));
  return { ...base, reach: { platform: false, orgIds } };
}

/**
 * Authenticates a console call (in place of admin/authenticate-operator.ts,
 * for the router the ConsoleAdmin entrypoint serves): 401 `unauthorized`
 * without a live session, 403 `forbidden` for a session that has not passed
 * its person's second factor (SECOND_FACTOR_REQUIRED) and for a person who
 * administers nothing.
 */
export function authenticateConsoleSession(): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const token = consoleSessions.get(c.req.raw);
    const operator = token === undefined ? undefined : await consoleOperator(c.env.DB, token);
    if (!operator) return httpErrorResponse("unauthorized", "no live session; sign in again");
    if (operator === SECOND_FACTOR_REQUIRED) {
      return httpErrorResponse(
        "forbidden",
        `${SECOND_FACTOR_REQUIRED}: this session has not passed the second factor; verify it at /two-factor`,
      );
    }
    if (!operator.reach.platform && operator.reach.orgIds.size === 0) {
      return httpErrorResponse("forbidden", "the console is for platform operators and organization admins");
    }
    c.set("operator", operator);
    await next();
  };
}
