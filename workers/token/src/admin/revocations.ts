import {
  RECORDABLE_REVOCATION_KINDS,
  type RevocationKind,
  type SubscriberCredential,
} from "../../../../shared/contracts/revocation.ts";
import { orgStateName } from "../../../../shared/contracts/storage-keys.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { recordOperatorRevocation } from "../revocations/operator-revoke.ts";
import { forwardRevocationStream } from "../revocations/stream.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import type { AdminApp, Operator } from "./types.ts";
import { invalidQuery, knownQuery } from "./query.ts";
import { oneOf, onlyFields, optionalString } from "./validate.ts";
import { revocationSchemas } from "../openapi/schemas.ts";
import { route } from "./route.ts";

/** What an operator may record: every kind but `client_subject`, which only the org's object makes (a fold). */
const KINDS: readonly RevocationKind[] = RECORDABLE_REVOCATION_KINDS;
/** The org-state object's own limit on a revoked value (workers/org-state/src/revocation-recording.ts). */
const MAX_VALUE_LENGTH = 256;
const MAX_REASON_LENGTH = 200;

/**
 * How long a console session's subscription runs before its next event
 * closes it, so that the reconnect reads the session and the person's reach
 * again: a platform operator's role ends in D1 (`platform_operator`), which
 * no org's revocation records.
 */
const CONSOLE_STREAM_RECHECK_SECONDS = 60;

/**
 * What an admin subscription to this org's stream lives on
 * (SubscriberCredential). An operator token: its `exp` (the operator
 * client's own revocations are the platform's, not this org's). A console
 * session: this org's revocations of the person or of the session (an org
 * admin removed or demoted, signed out), and CONSOLE_STREAM_RECHECK_SECONDS.
 */
function subscriberCredential(operator: Operator, orgId: string): SubscriberCredential {
  const now = Math.floor(Date.now() / 1000);
  if (operator.sessionId === null) return { until: operator.expiresAt ?? now };
  return {
    claims: {
      // A session has no `jti`: this one matches no revocation.
      jti: `session:${operator.sessionId}`,
      sub: operator.subject,
      client_id: operator.clientId,
      org_id: orgId,
      iat: now,
      sid: operator.sessionId,
    },
    until: now + CONSOLE_STREAM_RECHECK_SECONDS,
  };
}

/** `?after=N`: a non-negative integer, 0 when absent. */
function afterParam(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\d{1,15}$/.test(raw)) invalidQuery("after", "a non-negative integer (a seq)");
  return Number(raw);
}

/**
 * Operator revocation and the org's revocation events.
 *
 * POST /orgs/{org}/revocations `{ kind, value, reason? }` → 201
 * `{ org_id, seq, kind, value, reason }` once the org's Durable Object has
 * recorded it (503 `temporarily_unavailable` otherwise). `kind: "org"`
 * revokes every token the org issued up to now; its value is the org id
 * (given or not).
 *
 * GET /orgs/{org}/revocations?after=N → the events after seq N, one page
 * (`{ kind: "changes", version, events, more }`), or `{ kind: "resync",
 * version }` when they are no longer logged.
 *
 * GET /orgs/{org}/revocations/stream?after=N (WebSocket upgrade or `Accept:
 * text/event-stream`) → the live stream, served by the org's object.
 */
export function revocationRoutes(admin: AdminApp): void {
  route(
    admin,
    "post",
    "/orgs/:org/revocations",
    {
      summary: "Revoke (a jti, session, subject, client, or the whole org)",
      body: revocationSchemas.create,
      response: revocationSchemas.created,
      status: 201,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const body = await readJsonObject(c);
      onlyFields(body, ["kind", "value", "reason"]);
      const kind = oneOf(body, "kind", KINDS);
      const given = optionalString(body, "value", { max: MAX_VALUE_LENGTH });
      if (kind === "org" && given !== undefined && given !== orgId) {
        throw new HttpError("invalid_body", "value: an org revocation names the org of the path");
      }
      const value = kind === "org" ? orgId : given;
      if (value === undefined) throw new HttpError("invalid_body", "value: required");
      const reason = optionalString(body, "reason", { max: MAX_REASON_LENGTH }) ?? "operator";
      auditDetail(c, { action: "revocations.record", revocation_kind: kind, value });
      const seq = await recordOperatorRevocation(c.env, { orgId, kind, value, reason }, (p) =>
        c.executionCtx.waitUntil(p),
      );
      return c.json({ org_id: orgId, seq, kind, value, reason }, 201);
    },
  );

  route(
    admin,
    "get",
    "/orgs/:org/revocations",
    {
      summary: "The org's revocation events after a seq",
      query: { after: revocationSchemas.after },
      response: revocationSchemas.changes,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const after = afterParam(knownQuery(c, ["after"]).after);
      auditDetail(c, { action: "revocations.list" });
      try {
        return c.json(await c.env.ORG_STATE.getByName(orgStateName(orgId)).changesSince(after));
      } catch (error) {
        console.error("revocation events not read", orgId, error);
        throw new HttpError("temporarily_unavailable", "the revocation events could not be read; retry");
      }
    },
  );

  route(
    admin,
    "get",
    "/orgs/:org/revocations/stream",
    {
      summary: "The live revocation stream (SSE with Accept: text/event-stream, or a WebSocket upgrade)",
      query: { after: revocationSchemas.after },
      stream: true,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      afterParam(c.req.query("after"));
      auditDetail(c, { action: "revocations.stream" });
      return forwardRevocationStream(c.env, orgId, c.req.raw, subscriberCredential(c.get("operator"), orgId));
    },
  );
}
