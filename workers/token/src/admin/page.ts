import type { Context } from "hono";
import { z } from "zod";
import type { PagePosition, PageRequest } from "../../../../shared/db/keyset-page.ts";
import { decodeQueryCursor, encodeQueryCursor } from "../audit/query-events.ts";
import { invalidQuery, knownQuery, queryFilter, queryInteger } from "./query.ts";
import type { AdminEnv } from "./types.ts";

/**
 * Pages of an admin list (an org's clients, SCIM tokens, saved connections
 * oldest first; its access requests, MCP grants, host invites and
 * delegation grants newest first): `?limit=&cursor=` → `{ <items>,
 * next_cursor }`, the audit trail's convention (admin/audit-trail.ts); a
 * keyset on `created_at`, then id (shared/db/keyset-page.ts). A cursor is
 * only a position: a list reads it within the caller's org and filters, so
 * one from another list, org or filter pages this one from that position
 * and shows nothing of where it came from.
 */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 500;

const PAGE_PARAMETERS = ["limit", "cursor"] as const;

/** The query parameters, for the route's OpenAPI operation. */
export const pageQuery = {
  limit: z.string().regex(/^\d+$/).describe(`1-${MAX_PAGE_LIMIT}, default ${DEFAULT_PAGE_LIMIT}`),
  cursor: z.string().describe("the previous page's next_cursor"),
};

/** An answer's `next_cursor`: null on the last page. */
export const nextCursor = z.string().nullable();

/**
 * `limit` and `cursor` from the query string. Anything else but the list's
 * own `filters` (read by the route), any one twice, or a filter given
 * empty, is 400 `invalid_query`: a misspelt `limt=5` must not quietly
 * answer the default page as if it had been understood, nor `client_id=`
 * every client's rows.
 */
export function readPage(c: Context<AdminEnv>, filters: readonly string[] = []): PageRequest {
  const given: Partial<Record<string, string>> = knownQuery(c, [...PAGE_PARAMETERS, ...filters]);
  // An empty filter (`client_id=`) would read as none given: every row, not the ones asked for.
  for (const name of filters) queryFilter(given[name], name);
  const limit = queryInteger(c.req.query("limit"), "limit", MAX_PAGE_LIMIT) ?? DEFAULT_PAGE_LIMIT;
  const cursor = c.req.query("cursor");
  if (cursor === undefined) return { limit };
  // The audit trail's codec (base64url of [time, id]): one opaque form for every admin list.
  const position = decodeQueryCursor(cursor);
  if (!position) invalidQuery("cursor", "not a cursor this API returned");
  return { limit, after: { createdAt: position.occurredAt, id: position.id } };
}

/**
 * One page from rows read with `limit + 1`: the extra row, when there is
 * one, only says that another page follows.
 */
export function pageOf<T>(
  rows: readonly T[],
  limit: number,
  position: (row: T) => PagePosition,
): { items: T[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items,
    next_cursor:
      rows.length > limit && last !== undefined
        ? encodeQueryCursor({ occurredAt: position(last).createdAt, id: position(last).id })
        : null,
  };
}
