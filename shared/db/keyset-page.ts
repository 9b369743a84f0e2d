import { and, desc, eq, gt, gte, lt, lte, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn, SQLiteSelect } from "drizzle-orm/sqlite-core";

/**
 * A keyset page of a list kept in (created_at, id) order, oldest first or
 * newest first (id decides among rows of one millisecond; no two rows share
 * it): unlike an offset, a page never skips or repeats a row because another
 * was created or deleted meanwhile. A store reads `limit + 1` rows; the
 * extra one only says that another page follows.
 */
export interface PagePosition {
  /** The last row's `created_at`, in milliseconds. */
  createdAt: number;
  id: string;
}

export interface PageRequest {
  limit: number;
  /** Absent: the first page. */
  after?: PagePosition;
}

/**
 * The rows after `after` in (created_at, id) order; undefined (no
 * condition) for the first page. The leading `created_at >=` is implied by
 * the rest; it is there for SQLite's planner, which seeks an
 * `(org_id, created_at, id)` index on that range (migration 0028) where the
 * OR alone would have it scan the org's rows from the first.
 */
export function afterPosition(createdAt: SQLiteColumn, id: SQLiteColumn, after?: PagePosition): SQL | undefined {
  if (!after) return undefined;
  const at = new Date(after.createdAt);
  return and(gte(createdAt, at), or(gt(createdAt, at), and(eq(createdAt, at), gt(id, after.id))));
}

/**
 * The rows after `after` in newest-first order (created_at, then id, both
 * descending): the lists that show the newest first page this way, with the
 * same cursor. The leading `created_at <=` is for the planner, as above.
 */
export function beforePosition(createdAt: SQLiteColumn, id: SQLiteColumn, after?: PagePosition): SQL | undefined {
  if (!after) return undefined;
  const at = new Date(after.createdAt);
  return and(lte(createdAt, at), or(lt(createdAt, at), and(eq(createdAt, at), lt(id, after.id))));
}

/**
 * One newest-first page of `query` (a select made `$dynamic()`): its rows
 * meeting every `where` condition and coming after `page.after`, newest
 * first, `page.limit + 1` of them. The order is written here beside the
 * cursor's condition because the two must agree: a page read in any other
 * order (created_at alone, say) skips or repeats the rows at its edge.
 */
export function newestFirstPage<Q extends SQLiteSelect>(
  query: Q,
  key: { createdAt: SQLiteColumn; id: SQLiteColumn },
  page: PageRequest,
  ...where: (SQL | undefined)[]
): Q {
  return query
    .where(and(...where, beforePosition(key.createdAt, key.id, page.after)))
    .orderBy(desc(key.createdAt), desc(key.id))
    .limit(page.limit + 1);
}
