import { type ChainedRow, GENESIS_HASH, HASH_PATTERN, headMac, rowHash } from "../../../../shared/audit/chain.ts";
import type { BrokenLink, VerifyReport } from "../../../../shared/contracts/audit-trail.ts";

/** Rows one verify call checks at most: the work of a call is bounded, the caller pages on. */
export const MAX_VERIFY_ROWS = 1000;

/** Where a walk resumes: after the row with this seq, whose hash is this. */
export interface ChainPosition {
  seq: number;
  hash: string;
}

export const CHAIN_START: ChainPosition = { seq: 0, hash: GENESIS_HASH };

/** `<seq>:<hash>`: readable, so an operator can keep a head they verified and check from it later. */
export function encodePosition(position: ChainPosition): string {
  return `${position.seq}:${position.hash}`;
}

export function decodePosition(cursor: string): ChainPosition | undefined {
  const [seq, hash, ...rest] = cursor.split(":");
  if (rest.length > 0 || !seq || !/^\d{1,15}$/.test(seq) || !hash || !HASH_PATTERN.test(hash)) return undefined;
  return { seq: Number(seq), hash };
}

interface StoredRow {
  id: string;
  occurred_at: number;
  org_id: string | null;
  kind: string;
  outcome: string;
  subject: string | null;
  actor: string | null;
  client_id: string | null;
  detail: string;
  chain: string;
  seq: number;
  prev_hash: string | null;
  hash: string | null;
}

function chainedRow(row: StoredRow): ChainedRow {
  return {
    id: row.id,
    occurredAt: row.occurred_at,
    orgId: row.org_id,
    kind: row.kind,
    outcome: row.outcome,
    subject: row.subject,
    actor: row.actor,
    clientId: row.client_id,
    detail: row.detail,
    chain: row.chain,
    seq: row.seq,
    prevHash: row.prev_hash ?? "",
    hash: row.hash ?? "",
  };
}

/**
 * Walks one chain from `from` for at most `limit` rows, in seq order, and
 * stops at the first broken link. Each row must have the next seq, hash to
 * its stored hash, and point at the previous row's hash. When the walk
 * reaches the end it also checks the chain's head record, so rows deleted
 * from the end show too. Rows written before chains existed (no seq) are
 * outside every chain and not walked.
 */
export async function verifyChain(
  db: D1Database,
  headKey: CryptoKey,
  chain: string,
  from: ChainPosition,
  limit: number,
): Promise<VerifyReport> {
  const { results: rows } = await db
    .prepare(
      `SELECT id, occurred_at, org_id, kind, outcome, subject, actor, client_id, detail, chain, seq, prev_hash, hash
         FROM audit_event WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?`,
    )
    .bind(chain, from.seq, limit + 1)
    .all<StoredRow>();
  let last = from;
  let checked = 0;
  const report = (broken: BrokenLink | null, complete: boolean): VerifyReport => ({
    org: chain,
    ok: broken === null,
    rows_checked: checked,
    last_seq: last.seq,
    last_hash: last.hash,
    complete: broken === null && complete,
    next_cursor: broken === null && !complete ? encodePosition(last) : null,
    broken,
  });

  for (const stored of rows.slice(0, limit)) {
    const row = chainedRow(stored);
    const expectedSeq = last.seq + 1;
    const at = { id: row.id, seq: row.seq, expected_seq: expectedSeq };
    if (row.seq !== expectedSeq) {
      return report(
        {
          ...at,
          reason: row.seq > expectedSeq ? "missing_rows" : "unexpected_seq",
          expected_hash: last.hash,
          found_hash: stored.prev_hash,
        },
        false,
      );
    }
    const recomputed = await rowHash(row);
    if (recomputed !== stored.hash) {
      return report({ ...at, reason: "hash_mismatch", expected_hash: recomputed, found_hash: stored.hash }, false);
    }
    if (stored.prev_hash !== last.hash) {
      return report(
        { ...at, reason: "prev_hash_mismatch", expected_hash: last.hash, found_hash: stored.prev_hash },
        false,
      );
    }
    checked += 1;
    last = { seq: row.seq, hash: recomputed };
  }
  if (rows.length > limit) return report(null, false);
  return report(await checkHead(db, headKey, chain, last, rows[rows.length - 1]?.id ?? null), true);
}

/**
 * At the end of the walk: the head record must name the last row, by seq
 * and hash, and carry the MAC only the writer can make (chain.ts, headMac),
 * so a head set back to an earlier row (the rows after it deleted) shows.
 */
async function checkHead(
  db: D1Database,
  headKey: CryptoKey,
  chain: string,
  last: ChainPosition,
  lastId: string | null,
): Promise<BrokenLink | null> {
  const head = await db
    .prepare("SELECT seq, hash, mac FROM audit_chain_head WHERE chain = ?")
    .bind(chain)
    .first<{ seq: number; hash: string; mac: string | null }>();
  if (!head) {
    if (last.seq === 0) return null; // an empty chain
    return {
      reason: "head_missing",
      id: lastId,
      seq: last.seq,
      expected_seq: last.seq,
      expected_hash: last.hash,
      found_hash: null,
    };
  }
  if (head.seq > last.seq) {
    return {
      reason: "missing_rows",
      id: null,
      seq: head.seq,
      expected_seq: last.seq + 1,
      expected_hash: head.hash,
      found_hash: last.hash,
    };
  }
  if (
    head.seq < last.seq ||
    head.hash !== last.hash ||
    head.mac !== (await headMac(headKey, { chain, seq: head.seq, hash: head.hash }))
  ) {
    return {
      reason: "head_mismatch",
      id: lastId,
      seq: last.seq,
      expected_seq: last.seq,
      expected_hash: last.hash,
      found_hash: head.hash,
    };
  }
  return null;
}
