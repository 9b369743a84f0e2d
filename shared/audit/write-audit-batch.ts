import type { AuditRecord } from "./audit-record.ts";
import { wellFormedRecord } from "./caps.ts";
import { type ChainedRecord, canonicalForm, canonicalHash, chainOf, GENESIS_HASH, headMac } from "./chain.ts";

const IDS_PER_LOOKUP = 100;

/**
 * Rows go to D1 as one JSON array per statement, unpacked by SQLite's
 * json_each: one bound value instead of 13 per row (D1 binds at most 100
 * per statement, which held a multi-row VALUES to 7 rows — 15 statements for
 * a delivery of 100). A chunk stays far under D1's 2 MB limit on one value.
 */
const INSERT_CHUNK_BYTES = 512 * 1024;

/**
 * Attempts per delivery when another writer chained onto the same head
 * first. The consumer runs one invocation at a time (max_concurrency = 1 in
 * workers/token/wrangler.toml), but the dead-letter queue's consumer may run
 * beside it; each lost race costs one attempt, and past these the delivery
 * is retried by the queue.
 */
export const CHAIN_WRITE_ATTEMPTS = 5;

export interface WriteReport {
  /** Rows written (chained) by this call. */
  written: number;
  /** Records skipped because a row with their id exists (a redelivery or a replay). */
  skipped: number;
  /** Chain writes it took, 1 unless another writer won a race. */
  attempts: number;
}

/**
 * Writes a delivery of audit records, each appended to its org's hash chain
 * (shared/audit/chain.ts), in one D1 batch (one transaction) after one read
 * round trip.
 *
 * Idempotent by event id: Queues deliver at least once and the dead-letter
 * queue replays, so a record whose id is already written is skipped before
 * it is given a place in a chain, never chained twice.
 *
 * Race-free: the next place of a chain is read, then written with a plain
 * INSERT. Two writers that read the same head both insert (chain, seq) for
 * the same seq, the unique index refuses the second, its whole batch rolls
 * back, and it starts again from the reads. The same holds for an id written
 * by another writer between the read and the write (the primary key refuses
 * it). Nothing is ever half-chained.
 *
 * Every string is made well-formed before the canonical form is built
 * (caps.ts, wellFormedRecord): a lone surrogate would be stored as U+FFFD
 * but hashed as its escape, breaking the chain on a row nobody altered.
 */
export async function writeAuditBatch(
  db: D1Database,
  records: readonly AuditRecord[],
  headKey: CryptoKey,
): Promise<WriteReport> {
  const unique = [...new Map(records.map(wellFormedRecord).map((record) => [record.id, record])).values()];
  if (unique.length === 0) return { written: 0, skipped: 0, attempts: 0 };
  for (let attempt = 1; ; attempt++) {
    try {
      const written = await chainOnce(db, unique, headKey);
      return { written, skipped: records.length - written, attempts: attempt };
    } catch (error) {
      if (!isUniquenessConflict(error) || attempt >= CHAIN_WRITE_ATTEMPTS) throw error;
    }
  }
}

/** One read round trip, one write transaction; resolves with the rows written. */
async function chainOnce(db: D1Database, records: readonly AuditRecord[], headKey: CryptoKey): Promise<number> {
  const chains = [...new Set(records.map((record) => chainOf(record.orgId)))];
  const lookups: D1PreparedStatement[] = [];
  for (let i = 0; i < records.length; i += IDS_PER_LOOKUP) {
    const ids = records.slice(i, i + IDS_PER_LOOKUP).map((record) => record.id);
    lookups.push(db.prepare(`SELECT id FROM audit_event WHERE id IN (${placeholders(ids.length)})`).bind(...ids));
  }
  for (const chain of chains) lookups.push(headStatement(db, chain));
  const results = await db.batch<{ id?: string; seq?: number; hash?: string }>(lookups);
  const idLookups = Math.ceil(records.length / IDS_PER_LOOKUP);
  const existing = new Set(results.slice(0, idLookups).flatMap((result) => result.results.map((row) => row.id)));
  const heads = new Map<string, { seq: number; hash: string }>();
  chains.forEach((chain, i) => {
    heads.set(chain, newestHead(results[idLookups + i]?.results ?? []));
  });

  const rows: WrittenRow[] = [];
  const fresh = records
    .filter((record) => !existing.has(record.id))
    // Within a delivery, a chain's new rows follow the events' own order.
    .sort((a, b) => a.occurredAt - b.occurredAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const record of fresh) {
    const chain = chainOf(record.orgId);
    const head = heads.get(chain) ?? { seq: 0, hash: GENESIS_HASH };
    const link: ChainedRecord = { ...record, chain, seq: head.seq + 1, prevHash: head.hash };
    const canonical = canonicalForm(link);
    const hash = await canonicalHash(canonical);
    heads.set(chain, { seq: link.seq, hash });
    rows.push({ chain, canonical, hash });
  }
  if (rows.length === 0) return 0;

  const writes = insertStatements(db, rows);
  const touched = [...new Set(rows.map((row) => row.chain))].map((chain) => {
    const head = heads.get(chain) ?? { seq: 0, hash: GENESIS_HASH };
    return { chain, ...head };
  });
  const now = Date.now();
  for (const head of touched) {
    writes.push(
      db
        .prepare(
          `INSERT INTO audit_chain_head (chain, seq, hash, updated_at, mac) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,
             updated_at = excluded.updated_at, mac = excluded.mac`,
        )
        .bind(head.chain, head.seq, head.hash, now, await headMac(headKey, head)),
    );
  }
  await db.batch(writes);
  return rows.length;
}

/**
 * A chain's newest link: the head table's, or the newest chained row's if
 * that is further on. Both are read because either could have been tampered
 * with: chaining onto the greater one never reuses a seq (which would stall
 * every later write on the unique index), and leaves the damage for
 * verify to name.
 */
function headStatement(db: D1Database, chain: string): D1PreparedStatement {
  return db
    .prepare(
      `SELECT seq, hash FROM audit_chain_head WHERE chain = ?
       UNION ALL
       SELECT seq, hash FROM (SELECT seq, hash FROM audit_event WHERE chain = ? AND seq IS NOT NULL ORDER BY seq DESC LIMIT 1)`,
    )
    .bind(chain, chain);
}

function newestHead(rows: readonly { seq?: number; hash?: string }[]): { seq: number; hash: string } {
  let head = { seq: 0, hash: GENESIS_HASH };
  for (const row of rows) {
    if (typeof row.seq === "number" && typeof row.hash === "string" && row.seq > head.seq) {
      head = { seq: row.seq, hash: row.hash };
    }
  }
  return head;
}

/** A row to insert: its chain, the canonical form its hash covers (chain.ts), and that hash. */
interface WrittenRow {
  chain: string;
  canonical: string;
  hash: string;
}

/**
 * Each row travels as its canonical form (chain.ts: [format, chain, seq,
 * prev_hash, id, occurred_at, org_id, kind, outcome, subject, actor,
 * client_id, detail], built once for the hash) with the hash appended, so
 * what is stored is read from the very text that was hashed.
 */
const INSERT_FROM_JSON = `INSERT INTO audit_event (chain, seq, prev_hash, id, occurred_at, org_id, kind, outcome, subject, actor, client_id, detail, hash)
  SELECT ${Array.from({ length: 13 }, (_, i) => `json_extract(value, '$[${i + 1}]')`).join(", ")} FROM json_each(?)`;

function insertStatements(db: D1Database, rows: readonly WrittenRow[]): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  let chunk: string[] = [];
  let bytes = 0;
  const flush = () => {
    statements.push(db.prepare(INSERT_FROM_JSON).bind(`[${chunk.join(",")}]`));
    chunk = [];
    bytes = 0;
  };
  for (const row of rows) {
    const json = `${row.canonical.slice(0, -1)},"${row.hash}"]`;
    // Every UTF-16 unit as up to 3 bytes of UTF-8: on the safe side.
    if (chunk.length > 0 && bytes + json.length * 3 > INSERT_CHUNK_BYTES) flush();
    chunk.push(json);
    bytes += json.length * 3;
  }
  if (chunk.length > 0) flush();
  return statements;
}

function placeholders(count: number): string {
  return Array.from({ length: count }, () => "?").join(", ");
}

/** D1 reports SQLite's constraint errors in its message (e.g. "UNIQUE constraint failed: …: SQLITE_CONSTRAINT"). */
function isUniquenessConflict(error: unknown): boolean {
  const message = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  return /UNIQUE constraint failed|PRIMARY KEY constraint failed|SQLITE_CONSTRAINT/.test(message);
}
