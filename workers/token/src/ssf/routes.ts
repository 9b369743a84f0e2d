import { Hono, type MiddlewareHandler } from "hono";
import { recordAuditInBackground } from "../../../../shared/audit/record-audit.ts";
import { SCOPE } from "../../../../shared/contracts/scopes.ts";
import { SSF_PATH } from "../../../../shared/contracts/ssf.ts";
import { HttpError, httpErrorResponse, internalErrorResponse } from "../../../../shared/errors/http.ts";
import { BodyTooLargeError } from "../../../../shared/http/read-body.ts";
import { readJsonObject } from "../../../../shared/http/read-json.ts";
import { revocableClaims } from "../../../../shared/revocation/revocable-claims.ts";
import { forwardRevocationStream } from "../revocations/stream.ts";
import { authorizeOrgClient, type OrgPrincipal, requireSameOrg } from "./authorize.ts";
import { StreamOperations } from "./stream-operations.ts";

type SsfApp = Hono<{ Bindings: TokenEnv; Variables: { principal: OrgPrincipal } }>;

/** A stream body with a push Authorization and sixteen event types fits many times over. */
const MAX_BODY_BYTES = 32 * 1024;

/**
 * The transmitter's endpoints below ENDPOINT.ssf (SSF 1.0 §8.1, RFC 8936),
 * for an org's own client (ssf/authorize.ts: `ssf:manage`), acting on its
 * org's streams only; and the org's live revocation stream for a client
 * holding `revocations:read` for that org. Errors are shared/errors/http.ts
 * JSON with a stable code, or RFC 6750 challenges for the token.
 */
export function ssfRoutes(): SsfApp {
  const ssf: SsfApp = new Hono();
  ssf.onError((error) => {
    if (error instanceof HttpError) return httpErrorResponse(error.code, error.description, error.headers);
    if (error instanceof BodyTooLargeError) {
      return httpErrorResponse("payload_too_large", `a body is at most ${error.maxBytes} bytes`);
    }
    return internalErrorResponse("ssf", error);
  });

  ssf.use("*", auditSsfCalls());

  // The org's live revocation stream: WebSocket or SSE, served by the org's own object.
  ssf.get(`${SSF_PATH.orgs}/:org/revocations/stream`, async (c) => {
    const principal = await authorizeOrgClient(c.env, c.req.raw, SCOPE.revocationsRead);
    if (principal instanceof Response) return principal;
    c.set("principal", principal);
    requireSameOrg(principal, c.req.param("org"));
    return forwardRevocationStream(c.env, principal.orgId, c.req.raw, {
      claims: revocableClaims(principal.claims),
      until: principal.claims.exp,
    });
  });

  ssf.use("*", async (c, next) => {
    const principal = await authorizeOrgClient(c.env, c.req.raw, SCOPE.ssfManage);
    if (principal instanceof Response) return principal;
    c.set("principal", principal);
    await next();
  });
  const ops = (c: { env: TokenEnv; get: (key: "principal") => OrgPrincipal }) =>
    new StreamOperations(c.env, c.get("principal").orgId);

  ssf.post(SSF_PATH.streams, async (c) =>
    c.json(await ops(c).create(await readJson(c.req.raw), c.get("principal").clientId), 201),
  );
  ssf.get(SSF_PATH.streams, async (c) => c.json(await ops(c).read(c.req.query("stream_id"))));
  ssf.patch(SSF_PATH.streams, async (c) => c.json(await ops(c).update(await readJson(c.req.raw), false)));
  ssf.put(SSF_PATH.streams, async (c) => c.json(await ops(c).update(await readJson(c.req.raw), true)));
  ssf.delete(SSF_PATH.streams, async (c) => {
    await ops(c).remove(c.req.query("stream_id"));
    return c.body(null, 204);
  });
  ssf.get(SSF_PATH.status, async (c) => c.json(await ops(c).status(c.req.query("stream_id"))));
  ssf.post(SSF_PATH.status, async (c) => c.json(await ops(c).setStatus(await readJson(c.req.raw), false)));
  ssf.post(SSF_PATH.addSubject, async (c) => {
    await ops(c).addSubject(await readJson(c.req.raw));
    return c.body(null, 200);
  });
  ssf.post(SSF_PATH.removeSubject, async (c) => {
    await ops(c).removeSubject(await readJson(c.req.raw));
    return c.body(null, 204);
  });
  ssf.post(SSF_PATH.verify, async (c) => {
    await ops(c).verify(await readJson(c.req.raw));
    return c.body(null, 204);
  });
  ssf.post(`${SSF_PATH.poll}/:stream`, async (c) =>
    c.json(await ops(c).poll(c.req.param("stream"), await readJson(c.req.raw))),
  );
  return ssf;
}

/**
 * Every call below ENDPOINT.ssf is an audit event (`admin.action`: a
 * receiver managing its org's streams acts as that org's admin), allowed or
 * refused, with the client, the method, the path and the status; never a
 * body (a push Authorization is a secret). A refusal before the client is
 * known has no principal, so shared/audit folds floods of them together.
 */
function auditSsfCalls(): MiddlewareHandler<{ Bindings: TokenEnv; Variables: { principal: OrgPrincipal } }> {
  return async (c, next) => {
    await next();
    const principal = c.get("principal") as OrgPrincipal | undefined;
    const status = c.res.status;
    c.executionCtx.waitUntil(
      recordAuditInBackground(c.env, {
        kind: "admin.action",
        outcome: status < 400 ? "allow" : "deny",
        orgId: principal?.orgId ?? null,
        subject: principal?.clientId ?? null,
        clientId: principal?.clientId ?? null,
        detail: {
          action: "ssf",
          method: c.req.method,
          path: new URL(c.req.url).pathname,
          status,
          ...(principal ? { caller_jti: principal.jti } : {}),
        },
      }),
    );
  };
}

/** A JSON object body (shared/http/read-json.ts), capped at MAX_BODY_BYTES. */
function readJson(request: Request): Promise<Record<string, unknown>> {
  return readJsonObject(request, MAX_BODY_BYTES);
}
