import { and, desc, eq, gte, lt, or, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { auditEvent } from "../../../../shared/db/audit-schema.ts";
import type { AuditEventView, QueryPage } from "../../../../shared/contracts/audit-trail.ts";

/** Events one query returns at most; the caller pages on with the cursor. */
export const MAX_QUERY_LIMIT = 200;
export const DEFAULT_QUERY_LIMIT = 50;

/** A search of the audit trail; every field narrows it. */
export interface AuditQuery {
  /** The chain (shared/audit/chain.ts): an org id, or PLATFORM_ORG_ID for events of no org. */
  chain?: string;
  subject?: string;
  actor?: string;
  clientId?: string;
  /** An exact kind, or every kind under a prefix (`host_invite.` for `host_invite.*`). */
  kind?: { exact: string } | { prefix: string };
  outcome?: string;
  /** A decision id (the gateway's 403 body names it), which is that event's id. */
  decision?: string;
  /** Milliseconds: from inclusive, to exclusive. */
  from?: number;
  to?: number;
  /** Resume after this event (newest first). */
  after?: QueryPosition;
  limit: number;
}

/** Where a page ended: the last event's time and id (events are ordered by both). */
export interface QueryPosition {
  occurredAt: number;
  id: string;
}

/** Opaque to callers: base64url of `[occurred_at, id]`. */
export function encodeQueryCursor(position: QueryPosition): string {
  const bytes = new TextEncoder().encode(JSON.stringify([position.occurredAt, position.id]));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The furthest a Date reaches either side of 1970, in milliseconds (ECMA-262 §21.4.1.1). */
const MAX_DATE_MS = 8.64e15;

export function decodeQueryCursor(cursor: string): QueryPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,600}$/.test(cursor)) return undefined;
  try {
    const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const value: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [occurredAt, id] = value as [unknown, unknown];
    // A time no Date holds (past ±8.64e15 ms, ECMA-262 §21.4.1.1) binds as NaN: a silently empty page.
    if (!Number.isSafeInteger(occurredAt) || Math.abs(occurredAt as number) > MAX_DATE_MS) return undefined;
    if (typeof id !== "string" || id === "") return undefined;
    return { occurredAt: occurredAt as number, id };
  } catch {
    return undefined;
  }
}

/**
 * One page of audit events, newest first (by when they happened, then by
 * id, so pages never skip or repeat an event that has already landed).
 * Indexes serve the org (chain) and subject filters and the time range; the
 * other filters narrow what those find.
 */
export async function queryAuditEvents(db: D1Database, query: AuditQuery): Promise<QueryPage> {
  const e = auditEvent;
  const conditions: (SQL | undefined)[] = [
    query.chain === undefined ? undefined : eq(e.chain, query.chain),
    query.subject === undefined ? undefined : eq(e.subject, query.subject),
    query.actor === undefined ? undefined : eq(e.actor, query.actor),
    query.clientId === undefined ? undefined : eq(e.clientId, query.clientId),
    query.outcome === undefined ? undefined : eq(e.outcome, query.outcome),
    query.decision === undefined ? undefined : eq(e.id, query.decision),
    query.from === undefined ? undefined : gte(e.occurredAt, new Date(query.from)),
    query.to === undefined ? undefined : lt(e.occurredAt, new Date(query.to)),
  ];
  if (query.kind && "exact" in query.kind) conditions.push(eq(e.kind, query.kind.exact));
  if (query.kind && "prefix" in query.kind) {
    // Not LIKE: `_` in kind names would be a wildcard there.
    conditions.push(sql`substr(${e.kind}, 1, ${query.kind.prefix.length}) = ${query.kind.prefix}`);
  }
  if (query.after) {
    const at = new Date(query.after.occurredAt);
    conditions.push(or(lt(e.occurredAt, at), and(eq(e.occurredAt, at), lt(e.id, query.after.id))));
  }
  const rows = await drizzle(db)
    .select()
    .from(e)
    .where(and(...conditions))
    .orderBy(desc(e.occurredAt), desc(e.id))
    .limit(query.limit + 1)
    .all();
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    events: page.map(eventView),
    next_cursor:
      rows.length > query.limit && last
        ? encodeQueryCursor({ occurredAt: last.occurredAt.getTime(), id: last.id })
        : null,
  };
}

function eventView(row: typeof auditEvent.$inferSelect): AuditEventView {
  return {
    id: row.id,
    occurred_at: new Date(row.occurredAt).toISOString(),
    org_id: row.orgId,
    chain: row.chain,
    seq: row.seq,
    kind: row.kind,
    outcome: row.outcome,
    subject: row.subject,
    actor: row.actor,
    client_id: row.clientId,
    detail: parseDetail(row.detail),
    prev_hash: row.prevHash,
    hash: row.hash,
  };
}

/** Stored detail is JSON the producer wrote; a row edited into something else is shown as its text. */
function parseDetail(detail: string): unknown {
  try {
    return JSON.parse(detail);
  } catch {
    return detail;
  }
}
