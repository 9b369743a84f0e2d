import { MAX_REVOCATION_ENTRIES_PER_ORG, MAX_REVOCATION_SNAPSHOT_BYTES } from "../../../shared/contracts/revocation.ts";
import { ORG_STATE_META } from "../../../shared/contracts/storage-keys.ts";

/** The stable code of RevocationCapacityError; it is the start of the message, which is what crosses RPC. */
export const ERR_ORG_STATE_REVOCATIONS_FULL = "ERR_ORG_STATE_REVOCATIONS_FULL";

/**
 * What one entry of the snapshot costs over RPC (structured clone) besides
 * its strings: the object's tags, its property names, its kind and its
 * numbers. Measured at 92 to 101 bytes (the widest kind, `client_subject`,
 * with `clientId` and `subject`); 128 bounds it with room for numbers past
 * 2038, which clone as doubles (test/org-state/revocation-snapshot-size.test.ts
 * checks the accounting against the runtime's own measure).
 */
export const ENTRY_OVERHEAD_BYTES = 128;

/**
 * A recording refused because the org already holds as many live entries
 * as it may (MAX_REVOCATION_ENTRIES_PER_ORG), or entries as large as its
 * snapshot may grow (MAX_REVOCATION_SNAPSHOT_BYTES). Nothing of it was
 * recorded: the caller reports no success (every producer answers 503
 * temporarily_unavailable, or keeps what it owes for its retry and cron).
 */
export class RevocationCapacityError extends Error {
  readonly code = ERR_ORG_STATE_REVOCATIONS_FULL;

  constructor(detail: string) {
    super(`${ERR_ORG_STATE_REVOCATIONS_FULL}: ${detail}`);
    this.name = "RevocationCapacityError";
  }
}

/** What the org's entries take: rows, and bytes in the snapshot (kept in `meta` by triggers, so reading them costs no scan). */
export interface EntryUsage {
  rows: number;
  bytes: number;
}

/**
 * SQL for what a text column costs once cloned: V8 writes a string in one
 * byte a character when every character is Latin-1, else in two. A string
 * whose UTF-8 form is longer than its length has a character past ASCII, so
 * two bytes a character bounds it (a Latin-1 one costs less).
 */
function textBytes(column: string): string {
  return `(CASE WHEN ${column} IS NULL THEN 0 WHEN length(CAST(${column} AS BLOB)) > length(${column}) THEN 2 * length(${column}) ELSE length(${column}) END)`;
}

/** SQL for what the row `row` (NEW, OLD or the table) costs in the snapshot: an upper bound. */
function rowBytes(row: string): string {
  const text = ["value", "client_id", "subject"].map((column) => textBytes(`${row}.${column}`));
  return `(${ENTRY_OVERHEAD_BYTES} + ${text.join(" + ")})`;
}

/** The triggers installEntryAccounting keeps the two counts with (an object from before them has none). */
export const ENTRY_ACCOUNTING_TRIGGERS = [
  "revocation_rows_insert",
  "revocation_rows_delete",
  "revocation_bytes_insert",
  "revocation_bytes_delete",
  "revocation_bytes_update",
] as const;

/**
 * Keeps the count of `revocation` rows in `meta.entry_rows`, and what they
 * cost in the snapshot (rowBytes) in `meta.entry_bytes`, with triggers, so
 * every recording can check both caps without reading 100,000 rows. An
 * object from before the triggers measures its rows once here.
 */
export function installEntryAccounting(sql: SqlStorage): void {
  const rows = ORG_STATE_META.entryRows;
  const bytes = ORG_STATE_META.entryBytes;
  // Measured only when absent: the subqueries read every row, and an object starts at every wake from hibernation.
  const held = new Set(
    sql
      .exec<{ key: string }>("SELECT key FROM meta WHERE key IN (?, ?)", rows, bytes)
      .toArray()
      .map((row) => row.key),
  );
  if (!held.has(rows)) sql.exec("INSERT INTO meta (key, value) VALUES (?, (SELECT count(*) FROM revocation))", rows);
  if (!held.has(bytes)) {
    sql.exec(
      `INSERT INTO meta (key, value) VALUES (?, (SELECT ifnull(sum(${rowBytes("revocation")}), 0) FROM revocation))`,
      bytes,
    );
  }
  sql.exec(`
    CREATE TRIGGER IF NOT EXISTS revocation_rows_insert AFTER INSERT ON revocation BEGIN
      UPDATE meta SET value = value + 1 WHERE key = '${rows}';
    END;
    CREATE TRIGGER IF NOT EXISTS revocation_rows_delete AFTER DELETE ON revocation BEGIN
      UPDATE meta SET value = value - 1 WHERE key = '${rows}';
    END;
    CREATE TRIGGER IF NOT EXISTS revocation_bytes_insert AFTER INSERT ON revocation BEGIN
      UPDATE meta SET value = value + ${rowBytes("NEW")} WHERE key = '${bytes}';
    END;
    CREATE TRIGGER IF NOT EXISTS revocation_bytes_delete AFTER DELETE ON revocation BEGIN
      UPDATE meta SET value = value - ${rowBytes("OLD")} WHERE key = '${bytes}';
    END;
    CREATE TRIGGER IF NOT EXISTS revocation_bytes_update AFTER UPDATE OF value, client_id, subject ON revocation BEGIN
      UPDATE meta SET value = value + ${rowBytes("NEW")} - ${rowBytes("OLD")} WHERE key = '${bytes}';
    END;
  `);
}

export function entryUsage(sql: SqlStorage): EntryUsage {
  const read = (key: string) =>
    sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value ?? 0;
  return { rows: read(ORG_STATE_META.entryRows), bytes: read(ORG_STATE_META.entryBytes) };
}

function overCap(usage: EntryUsage): boolean {
  return usage.rows > MAX_REVOCATION_ENTRIES_PER_ORG || usage.bytes > MAX_REVOCATION_SNAPSHOT_BYTES;
}

/**
 * Refuses, inside a recording's transaction and after its writes, a
 * recording that took the org past a cap: one that added rows or bytes
 * while the org holds more than MAX_REVOCATION_ENTRIES_PER_ORG entries or
 * MAX_REVOCATION_SNAPSHOT_BYTES of them. A recording that adds neither (a
 * cut-off moved forward, a fold dropping the rows it covers) always passes:
 * refusing it would leave honoured what it covers. Expired rows the alarm
 * has not pruned yet are pruned first rather than counted. Throwing rolls
 * the transaction back: nothing of the recording stays.
 */
export function assertEntryRoom(sql: SqlStorage, before: EntryUsage, now: number): void {
  const after = entryUsage(sql);
  const grew = after.rows > before.rows || after.bytes > before.bytes;
  if (!grew || !overCap(after)) return;
  sql.exec("DELETE FROM revocation WHERE expires_at <= ?", now);
  const pruned = entryUsage(sql);
  if (!overCap(pruned)) return;
  throw new RevocationCapacityError(
    pruned.rows > MAX_REVOCATION_ENTRIES_PER_ORG
      ? `the org holds ${MAX_REVOCATION_ENTRIES_PER_ORG} live revocations; retry once some expire`
      : `the org's live revocations fill its ${MAX_REVOCATION_SNAPSHOT_BYTES}-byte snapshot; retry once some expire`,
  );
}
