import { waitUntil } from "cloudflare:workers";
import type { MiddlewareHandler } from "hono";
import { recordAuditInBackground } from "../../../../shared/audit/record-audit.ts";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import type { ScimApp } from "./authenticate.ts";

/**
 * Every change an org's directory asks for (any method but GET) is an audit
 * event of the org, made or refused: the token's id as the actor, the
 * resource path and the status. Reads are not (a directory polls). Sent
 * after the answer, through the audit Queue like every other event.
 */
export const auditScimWrites: MiddlewareHandler<ScimApp> = async (c, next) => {
  await next();
  if (c.req.method === "GET") return;
  const { orgId, tokenId } = c.var.scim;
  waitUntil(
    recordAuditInBackground(c.env, {
      kind: "scim.action",
      outcome: c.res.status < 400 ? "recorded" : "refused",
      orgId,
      actor: `scim:${tokenId}`,
      detail: {
        method: c.req.method,
        resource: new URL(c.req.url).pathname.slice(ENDPOINT.scim.length).slice(0, 128),
        status: c.res.status,
      },
    }),
  );
};
