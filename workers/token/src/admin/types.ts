import type { Hono } from "hono";
import type { AuditDetailValue } from "../../../../shared/audit/record-audit.ts";

/** The platform operator a request was authenticated as (admin/authenticate-operator.ts). */
export interface Operator {
  /** The operator client's id (the token's `client_id` and `sub`). */
  clientId: string;
  subject: string;
  /** The token's `jti`, for the audit trail. */
  jti: string;
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
