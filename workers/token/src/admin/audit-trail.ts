import { AUDIT_CAPS, TRUNCATED } from "../../../../shared/audit/caps.ts";
import { AUDIT_OUTCOMES } from "../../../../shared/audit/record-audit.ts";
import {
  type AuditQuery,
  DEFAULT_QUERY_LIMIT,
  decodeQueryCursor,
  MAX_QUERY_LIMIT,
  queryAuditEvents,
} from "../audit/query-events.ts";
import { CHAIN_START, decodePosition, MAX_VERIFY_ROWS, verifyChain } from "../audit/verify-chain.ts";
import { auditHeadKey } from "../audit/head-key.ts";
import { tokenConfig } from "../config.ts";
import { PLATFORM_ORG_ID } from "../../../../shared/contracts/tokens.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { auditDetail } from "./audit.ts";
import { orgExists } from "./orgs.ts";
import { requireReach } from "./authorize.ts";
import type { AdminApp, AdminEnv } from "./types.ts";
import { auditSchemas } from "../openapi/schemas.ts";
import { invalidQuery, knownQuery } from "./query.ts";
import { route } from "./route.ts";

/** A stored field is at most its cap plus the truncation mark; nothing longer can match. */
const FIELD_MAX = AUDIT_CAPS.fieldChars + TRUNCATED.length;
/** `gateway.decision`, or `host_invite.*` for every kind under `host_invite.`. */
const KIND = /^[a-z][a-z_]*(\.[a-z][a-z_]*)*(\.\*)?$/;

const QUERY_PARAMETERS = [
  "org",
  "subject",
  "actor",
  "client",
  "kind",
  "outcome",
  "decision",
  "from",
  "to",
  "cursor",
  "limit",
] as const;
const VERIFY_PARAMETERS = ["org", "cursor", "limit"] as const;

/**
 * The audit trail for platform operators (docs/audit.md):
 *
 * GET /audit/events?org=&subject=&actor=&client=&kind=&outcome=&decision=&from=&to=&cursor=&limit=
 * → `{ events: [...], next_cursor }`, newest first. `org` names a chain (an
 * org id, or `platform` for events of no org); `kind` is exact or ends in
 * `.*`; `from`/`to` are ISO 8601 or epoch milliseconds (from inclusive, to
 * exclusive); `limit` 1–200 (default 50); `cursor` is the previous page's
 * `next_cursor`.
 *
 * GET /audit/verify?org=&cursor=&limit= → walks the org's hash chain from the
 * start (or from `cursor`, a `seq:hash` a previous call returned) for at most
 * `limit` rows (1–1000, default 1000) and reports the first broken link, or
 * ok with the rows checked and where to go on.
 *
 * A parameter it does not know, or one given twice, is 400 `invalid_query`
 * (admin/query.ts), like any value it cannot use: a misspelt filter must not
 * widen a search to everything.
 */
export function auditTrailRoutes(admin: AdminApp): void {
  route(
    admin,
    "get",
    "/audit/events",
    {
      summary: "Search the audit trail, newest first (an org admin: org= one of its orgs)",
      query: auditSchemas.query,
      response: auditSchemas.page,
      orgAdmins: "self",
    },
    async (c) => {
      const params = knownQuery(c, QUERY_PARAMETERS);
      const query: AuditQuery = { limit: limitOf(params.limit, DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT) };
      const chain = text("org", params.org, 128);
      const subject = text("subject", params.subject, FIELD_MAX);
      const actor = text("actor", params.actor, FIELD_MAX);
      const clientId = text("client", params.client, FIELD_MAX);
      const decision = text("decision", params.decision, 128);
      // An org admin reads its orgs' chains only, one at a time (admin/authorize.ts).
      requireReach(c, chain);
      if (chain !== undefined) query.chain = chain;
      if (subject !== undefined) query.subject = subject;
      if (actor !== undefined) query.actor = actor;
      if (clientId !== undefined) query.clientId = clientId;
      if (decision !== undefined) query.decision = decision;
      if (params.kind !== undefined) {
        if (params.kind.length > 64 || !KIND.test(params.kind)) {
          invalidQuery("kind", "an event kind (e.g. gateway.decision), or a prefix ending in .*");
        }
        query.kind = params.kind.endsWith(".*") ? { prefix: params.kind.slice(0, -1) } : { exact: params.kind };
      }
      if (params.outcome !== undefined) {
        if (!(AUDIT_OUTCOMES as readonly string[]).includes(params.outcome)) {
          invalidQuery("outcome", `one of ${AUDIT_OUTCOMES.join(", ")}`);
        }
        query.outcome = params.outcome;
      }
      if (params.from !== undefined) query.from = timeOf("from", params.from);
      if (params.to !== undefined) query.to = timeOf("to", params.to);
      if (query.from !== undefined && query.to !== undefined && query.from >= query.to) {
        invalidQuery("from", "must be before to");
      }
      if (params.cursor !== undefined) {
        query.after = decodeQueryCursor(params.cursor);
        if (!query.after) invalidQuery("cursor", "not a cursor this API returned");
      }
      // `queried_org`, not `org_id`: reading the trail is recorded in the
      // platform chain, so a poll of an org's events never adds to that org's.
      auditDetail(c, {
        action: "audit.query",
        ...(query.chain !== undefined ? { queried_org: query.chain } : {}),
        filters: Object.keys(params).filter((name) => name !== "cursor" && name !== "limit"),
      });
      return c.json(await queryAuditEvents(c.env.AUDIT_DB, query));
    },
  );

  route(
    admin,
    "get",
    "/audit/verify",
    {
      summary: "Verify an org's audit hash chain",
      query: auditSchemas.verifyQuery,
      response: auditSchemas.report,
      orgAdmins: "self",
    },
    async (c) => {
      const params = knownQuery(c, VERIFY_PARAMETERS);
      const chain = text("org", params.org, 128);
      if (chain === undefined) invalidQuery("org", "required (an org id, or platform)");
      requireReach(c, chain);
      const limit = limitOf(params.limit, MAX_VERIFY_ROWS, MAX_VERIFY_ROWS);
      const from = params.cursor === undefined ? CHAIN_START : decodePosition(params.cursor);
      if (!from) invalidQuery("cursor", "`seq:hash` as a previous verify returned it");
      auditDetail(c, { action: "audit.verify", queried_org: chain, from_seq: from.seq });
      const headKey = await auditHeadKey(tokenConfig(c.env).keyEncryptionSecret);
      const report = await verifyChain(c.env.AUDIT_DB, headKey, chain, from, limit);
      // An empty chain with no head is ok for an org that has simply had no
      // events yet; for an id no org has (a typo, a wrong environment) "ok,
      // 0 rows" would read as a clean audit of something that never existed.
      if (report.ok && report.last_seq === 0 && chain !== PLATFORM_ORG_ID && !(await orgExists(c.env.DB, chain))) {
        throw new HttpError("not_found", "no such organization, and no audit chain by that id");
      }
      auditDetail(c, {
        ok: report.ok,
        rows_checked: report.rows_checked,
        ...(report.broken ? { broken_seq: report.broken.seq } : {}),
      });
      return c.json(report);
    },
  );
}

function text(name: string, value: string | undefined, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (value === "") invalidQuery(name, "must not be empty");
  if (value.length > max) invalidQuery(name, `at most ${max} characters`);
  return value;
}

function limitOf(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const limit = /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    invalidQuery("limit", `an integer from 1 to ${max}`);
  }
  return limit;
}

/** ISO 8601, or milliseconds since the epoch. */
function timeOf(name: string, raw: string): number {
  const time = /^\d{1,15}$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(time)) invalidQuery(name, "an ISO 8601 time or epoch milliseconds");
  return time;
}
