/**
 * What the admin API answers for the audit trail (GET ENDPOINT.admin
 * `/audit/events` and `/audit/verify`, docs/audit.md): the token Worker
 * writes these shapes, the `mono-auth audit` commands and the tests read
 * them.
 */

export interface AuditEventView {
  id: string;
  occurred_at: string;
  org_id: string | null;
  chain: string;
  /** Null for rows older than the hash chains. */
  seq: number | null;
  kind: string;
  outcome: string;
  subject: string | null;
  actor: string | null;
  client_id: string | null;
  detail: unknown;
  prev_hash: string | null;
  hash: string | null;
}

export interface QueryPage {
  events: AuditEventView[];
  next_cursor: string | null;
}

/**
 * Why a link is broken (docs/audit.md, "verify"):
 * - `hash_mismatch`: the row's fields no longer hash to its stored hash (it was edited);
 * - `prev_hash_mismatch`: the row does not point at the row before it (that row was
 *   edited and re-hashed, replaced, or the two were reordered);
 * - `missing_rows`: seqs are skipped (rows were deleted), before this row or, with
 *   `id` null, at the end of the chain (the chain's head names a later row);
 * - `unexpected_seq`: a seq repeats or goes backwards;
 * - `head_mismatch` / `head_missing`: the chain's head record disagrees with its last
 *   row, or is gone.
 */
export type BrokenLinkReason =
  | "hash_mismatch"
  | "prev_hash_mismatch"
  | "missing_rows"
  | "unexpected_seq"
  | "head_mismatch"
  | "head_missing";

export interface BrokenLink {
  reason: BrokenLinkReason;
  /** The row where the break shows; null when no row is there (rows missing at the end). */
  id: string | null;
  seq: number | null;
  /** The seq the walk expected here. */
  expected_seq: number;
  expected_hash: string | null;
  found_hash: string | null;
}

export interface VerifyReport {
  org: string;
  ok: boolean;
  rows_checked: number;
  /** The last row checked and found sound (the resume point), or where the walk started. */
  last_seq: number;
  last_hash: string;
  /** The walk reached the chain's end (and checked its head). */
  complete: boolean;
  /** Pass as `cursor` to check the next rows; null when complete or broken. */
  next_cursor: string | null;
  broken: BrokenLink | null;
}
