import { and, eq, gt, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

/**
 * A keyset page of a list kept oldest first by `created_at`, then by id
 * (which no two rows share): unlike an offset, a page never skips or repeats
 * a row because another was created or deleted meanwhile, and rows created
 * in the same millisecond still have one order. A store reads `limit + 1`
 * rows; the extra one only says that another page follows.
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

/** The rows after `after` in (created_at, id) order; undefined (no condition) for the first page. */
export function afterPosition(createdAt: SQLiteColumn, id: SQLiteColumn, after?: PagePosition): SQL | undefined {
  if (!after) return undefined;
  const at = new Date(after.createdAt);
  return or(gt(createdAt, at), and(eq(createdAt, at), gt(id, after.id)));
}
