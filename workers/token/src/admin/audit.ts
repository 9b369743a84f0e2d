import type { Context, MiddlewareHandler } from "hono";
import { type AuditDetailValue, recordAuditInBackground } from "../../../../shared/audit/record-audit.ts";
import { loggablePath, loggableValue } from "../../../../shared/observability/log.ts";
import type { AdminEnv } from "./types.ts";

/**
 * Adds what a handler acted on to its call's audit event. The ids it names
 * are often the caller's words (a path's `:id`): one that is a token or
 * holds one of our secrets (pasted where its id belongs) is kept redacted
 * (loggableValue), as the path is.
 */
export function auditDetail(c: Context<AdminEnv>, detail: Record<string, AuditDetailValue>): void {
  const kept = Object.fromEntries(Object.entries(detail).map(([name, value]) => [name, loggable(value)]));
  c.set("audit", { ...c.get("audit"), ...kept });
}

function loggable(value: AuditDetailValue): AuditDetailValue {
  if (typeof value === "string") return loggableValue(value);
  return Array.isArray(value) ? value.map(loggableValue) : value;
}

/**
 * Every admin call is an audit event (`admin.action`), allowed or refused,
 * with the operator, the method, the path, the status and what the handler
 * acted on; never a body (it may hold a secret or keys). A refusal before
 * the operator is known has no principal, so shared/audit folds floods of
 * them into aggregates.
 */
export function auditAdminCalls(): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    c.set("audit", {});
    await next();
    const operator = c.get("operator");
    const detail = c.get("audit");
    const status = c.res.status;
    const error = status >= 400 ? await errorCode(c.res) : undefined;
    c.executionCtx.waitUntil(
      recordAuditInBackground(c.env, {
        kind: "admin.action",
        outcome: status < 400 ? "allow" : "deny",
        orgId: typeof detail.org_id === "string" ? detail.org_id : null,
        subject: operator?.subject ?? null,
        clientId: operator?.clientId ?? null,
        detail: {
          ...detail,
          method: c.req.method,
          path: loggablePath(new URL(c.req.url).pathname),
          status,
          ...(error ? { error } : {}),
          ...(operator?.jti ? { operator_jti: operator.jti } : {}),
          ...(operator?.sessionId ? { via: "console", operator_session: operator.sessionId } : {}),
        },
      }),
    );
  };
}

/** The stable code of an error answer (every one is a shared/errors JSON body). */
async function errorCode(response: Response): Promise<string | undefined> {
  const body: unknown = await response
    .clone()
    .json()
    .catch(() => undefined);
  const code = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined;
  return typeof code === "string" ? code : undefined;
}
