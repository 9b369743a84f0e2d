import type { Hono } from "hono";
import type { AuditDetailValue } from "../../../../shared/audit/record-audit.ts";

/**
 * Which organizations a caller may act on: every one (a platform operator),
 * or those it administers (an owner or admin of them, through the console).
 */
export type OperatorReach = { platform: true } | { platform: false; orgIds: ReadonlySet<string> };

/**
 * Who a request of the admin API was authenticated as: a platform operator
 * client's token (admin/authenticate-operator.ts) or a person's console
 * session (admin/console-session.ts).
 */
export interface Operator {
  /** The operator client's id (the token's `client_id`), or CONSOLE_CLIENT_ID for a console session. */
  clientId: string;
  /** The token's `sub` (the operator client), or the person's user id. */
  subject: string;
  /** The token's `jti`, for the audit trail; null for a session. */
  jti: string | null;
  /** The Better Auth session a console call was made in; null for a token. */
  sessionId: string | null;
  /** The token's `exp` (seconds); absent for a console session, which is read again at every call. */
  expiresAt?: number;
  reach: OperatorReach;
}

export interface AdminEnv {
  Bindings: TokenEnv;
  Variables: {
    operator: Operator;
    /**
     * What the call acted on, for its audit event (admin/audit.ts): each
     * handler adds the ids it touched (`org_id`, `client_id`, …).
     */
    audit: Record<string, AuditDetailValue>;
  };
}

/** The admin API's router; each noun registers its routes on it (admin/router.ts). */
export type AdminApp = Hono<AdminEnv>;
