import { MAX_REVOCATION_ENTRIES_PER_ORG } from "../../../shared/contracts/revocation.ts";
import { ORG_STATE_META } from "../../../shared/contracts/storage-keys.ts";

/** The stable code of RevocationCapacityError; it is the start of the message, which is what crosses RPC. */
export const ERR_ORG_STATE_REVOCATIONS_FULL = "ERR_ORG_STATE_REVOCATIONS_FULL";

/**
 * A recording refused because the org already holds as many live entries
 * as it may (MAX_REVOCATION_ENTRIES_PER_ORG). Nothing of it was recorded:
 * the caller reports no success (every producer answers 503
 * temporarily_unavailable, or keeps what it owes for its retry and cron).
 */
export class RevocationCapacityError extends Error {
  readonly code = ERR_ORG_STATE_REVOCATIONS_FULL;

  constructor(detail: string) {
    super(`${ERR_ORG_STATE_REVOCATIONS_FULL}: ${detail}`);
    this.name = "RevocationCapacityError";
  }
}

/** What the org's entries take: rows (kept in `meta` by triggers, so reading it costs no scan). */
export interface EntryUsage {
  rows: number;
}

/**
 * Keeps the count of `revocation` rows in `meta.entry_rows` with triggers,
 * so every recording can check the cap without counting 100,000 rows. An
 * object from before the triggers counts its rows once here.
 */
export function installEntryAccounting(sql: SqlStorage): void {
  const rows = ORG_STATE_META.entryRows;
  sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES (?, (SELECT count(*) FROM revocation))", rows);
  sql.exec(`
    CREATE TRIGGER IF NOT EXISTS revocation_rows_insert AFTER INSERT ON revocation BEGIN
      UPDATE meta SET value = value + 1 WHERE key = '${rows}';
    END;
    CREATE TRIGGER IF NOT EXISTS revocation_rows_delete AFTER DELETE ON revocation BEGIN
      UPDATE meta SET value = value - 1 WHERE key = '${rows}';
    END;
  `);
}

export function entryUsage(sql: SqlStorage): EntryUsage {
  const rows =
    sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = ?", ORG_STATE_META.entryRows).toArray()[0]?.value ??
    0;
  return { rows };
}

/**
 * Refuses, inside a recording's transaction and after its writes, a
 * recording that took the org past the cap: one that added rows while the
 * org holds more than MAX_REVOCATION_ENTRIES_PER_ORG. A recording that adds
 * none (a cut-off moved forward, a fold dropping the rows it covers) always
 * passes: refusing it would leave honoured what it covers. Expired rows the
 * alarm has not pruned yet are pruned first rather than counted. Throwing
 * rolls the transaction back: nothing of the recording stays.
 */
export function assertEntryRoom(sql: SqlStorage, before: EntryUsage, now: number): void {
  const after = entryUsage(sql);
  if (after.rows <= MAX_REVOCATION_ENTRIES_PER_ORG || after.rows <= before.rows) return;
  sql.exec("DELETE FROM revocation WHERE expires_at <= ?", now);
  if (entryUsage(sql).rows <= MAX_REVOCATION_ENTRIES_PER_ORG) return;
  throw new RevocationCapacityError(
    `the org holds ${MAX_REVOCATION_ENTRIES_PER_ORG} live revocations; retry once some expire`,
  );
}
