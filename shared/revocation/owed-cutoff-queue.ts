/**
 * What the owed cut-off tables share (D1 `owed_member_cutoff`,
 * `owed_org_cutoff`, `owed_grant_cutoff`; docs/storage-schema.md). Each row
 * is a revocation owed in an org's Durable Object before the rows it is read
 * from go; it is deleted once recorded, and the one left behind is the
 * retry's or the token Worker's cron's to record. The cron takes them as a
 * queue: oldest first, skipping rows young enough to be a request's still in
 * flight, the refused sent to the back. How a row becomes a revocation, its
 * columns and its in-flight window are each kind's (owed-member-cutoffs.ts,
 * owed-org-cutoffs.ts, owed-grant-cutoffs.ts).
 *
 * Every statement here seeks an index of migration 0033 or 0030 or the
 * primary key (test/token/owed-cutoff-query-plans.test.ts).
 */

import { logJson } from "../observability/log.ts";

/** One kind's table, as the queue reads and writes it. */
export interface OwedCutoffTable<Row extends { orgId: string }> {
  table: "owed_member_cutoff" | "owed_org_cutoff" | "owed_grant_cutoff";
  /** The primary key: a postponement and a clear name rows by it, and it breaks `created_at` ties. */
  key: "id" | "grant_id";
  /** The SELECT list, each column aliased to its field of Row. */
  columns: string;
  keyOf(row: Row): string;
  /**
   * Rows the cron leaves to their own request, which may still be in flight
   * (each kind's window says what it protects): those younger than `ms`,
   * by the condition `taken` on `?2` = now − `ms`. Absent: the cron takes
   * every row.
   */
  inFlight?: { ms: number; taken: "created_at <= ?2" | "created_at < ?2" };
  /** The cron's log lines name it: `<name> recorded but not cleared`, `<name> not postponed`. */
  name: string;
}

/** Owed rows the cron records per table per run; the rest wait for the next (five minutes, wrangler.toml). */
export const OWED_ROWS_PER_RUN = 50;

/**
 * Up to `limit` rows past their in-flight window, oldest first (the cron's
 * share), in the order of the table's `created_at` index.
 */
export async function oldestOwedRows<Row extends { orgId: string }>(
  db: D1Database,
  owed: OwedCutoffTable<Row>,
  limit: number,
  now = Date.now(),
): Promise<Row[]> {
  const where = owed.inFlight ? ` WHERE ${owed.inFlight.taken}` : "";
  const statement = db.prepare(
    `SELECT ${owed.columns} FROM ${owed.table}${where} ORDER BY created_at, ${owed.key} LIMIT ?1`,
  );
  const bound = owed.inFlight ? statement.bind(limit, now - owed.inFlight.ms) : statement.bind(limit);
  return (await bound.all<Row>()).results;
}

/**
 * Sends a row the org's object refused to the back of the cron's queue (its
 * `created_at` becomes now): left oldest, rows that keep being refused would
 * take every one of the cron's slots, and no other org's owed cut-off would
 * be recorded again.
 */
export async function postponeOwedRow<Row extends { orgId: string }>(
  db: D1Database,
  owed: OwedCutoffTable<Row>,
  key: string,
): Promise<void> {
  await db.prepare(`UPDATE ${owed.table} SET created_at = ?2 WHERE ${owed.key} = ?1`).bind(key, Date.now()).run();
}

/**
 * Deletes the rows named (by their primary key), once their cut-off is
 * recorded. `sharedAt`: the cron's clear, which deletes only rows its share
 * could have read (past the in-flight window as of the share's `now`). A
 * key can be owed again once its row is gone (`owed_grant_cutoff` is keyed
 * by the grant), and the cron clears an org's rows only after recording
 * them all, which may take many calls to a failing object: meanwhile a
 * request may withdraw the row the cron recorded and owe the grant anew,
 * and that row is its writer's to withdraw, not the cron's.
 */
export async function clearOwedRows<Row extends { orgId: string }>(
  db: D1Database,
  owed: OwedCutoffTable<Row>,
  keys: readonly string[],
  sharedAt?: number,
): Promise<void> {
  if (keys.length === 0) return;
  const keyed = `${owed.key} IN (SELECT value FROM json_each(?1))`;
  if (sharedAt !== undefined && owed.inFlight) {
    await db
      .prepare(`DELETE FROM ${owed.table} WHERE ${keyed} AND ${owed.inFlight.taken}`)
      .bind(JSON.stringify(keys), sharedAt - owed.inFlight.ms)
      .run();
    return;
  }
  await db.prepare(`DELETE FROM ${owed.table} WHERE ${keyed}`).bind(JSON.stringify(keys)).run();
}

/**
 * Records an org's rows of a run in its object, answering, in the order
 * given, whether each was recorded (having logged why not).
 */
export type RecordOwedRows<Row> = (orgId: string, rows: readonly Row[]) => Promise<boolean[]>;

/**
 * A RecordOwedRows for a kind whose rows are each their own revocation:
 * recorded one after another, a throw (which `recordOne` logged) a refusal.
 */
export function oneByOne<Row>(recordOne: (row: Row) => Promise<unknown>): RecordOwedRows<Row> {
  return async (_orgId, rows) => {
    const recorded: boolean[] = [];
    for (const row of rows) {
      recorded.push(
        await recordOne(row).then(
          () => true,
          () => false,
        ),
      );
    }
    return recorded;
  };
}

/**
 * One org's rows of a run, through `record`: a throw (a kind's recording
 * may throw past the refusals it answers) is this org's alone, so it is
 * logged and every row of the org answered unrecorded, to be postponed as
 * a refusal is. Left to end the run, it would leave every other org's
 * share of it owed until the next, and an org that kept throwing would
 * have the others wait for ever. The log names the table, the org and the
 * error's name only: a message may quote what it was given.
 */
async function recordOrgRows<Row extends { orgId: string }>(
  owed: OwedCutoffTable<Row>,
  record: RecordOwedRows<Row>,
  orgId: string,
  rows: readonly Row[],
): Promise<boolean[]> {
  try {
    return await record(orgId, rows);
  } catch (error) {
    logJson("error", {
      event: "revocation.owed_cutoffs_not_recorded",
      worker: "token",
      table: owed.table,
      org_id: orgId,
      rows: rows.length,
      error: error instanceof Error ? error.name : typeof error,
    });
    return rows.map(() => false);
  }
}

/**
 * The cron's run over one table (workers/token/src/scheduled.ts): its share,
 * oldest first, recorded one org after another, each org on its own
 * (recordOrgRows): an org whose object fails, or whose recording throws,
 * is logged and postponed, never the others' end. Each row is cleared only
 * once its cut-off is recorded; one recorded but not cleared only means a
 * later run records it once more (harmless), so that is logged, not thrown.
 * A row the object refuses goes to the back of the queue, so refused rows
 * never take every slot of a run, and a refused row does not keep the
 * others of its org from being recorded.
 */
export async function finishOwedRows<Row extends { orgId: string }>(
  db: D1Database,
  owed: OwedCutoffTable<Row>,
  record: RecordOwedRows<Row>,
): Promise<{ finished: number; owed: number }> {
  const sharedAt = Date.now();
  const share = await oldestOwedRows(db, owed, OWED_ROWS_PER_RUN, sharedAt);
  const byOrg = new Map<string, Row[]>();
  for (const row of share) byOrg.set(row.orgId, [...(byOrg.get(row.orgId) ?? []), row]);
  let finished = 0;
  for (const [orgId, rows] of byOrg) {
    const recorded = await recordOrgRows(owed, record, orgId, rows);
    const settled = rows.filter((_, i) => recorded[i]);
    await clearOwedRows(
      db,
      owed,
      settled.map((row) => owed.keyOf(row)),
      sharedAt,
    ).catch((error: unknown) => {
      console.error(`${owed.name} recorded but not cleared`, orgId, error);
    });
    for (const row of rows.filter((_, i) => !recorded[i])) {
      // `record` logged why; the row stays for a later run or the retry, behind the others.
      await postponeOwedRow(db, owed, owed.keyOf(row)).catch((error: unknown) => {
        console.error(`${owed.name} not postponed`, orgId, error);
      });
    }
    finished += settled.length;
  }
  return { finished, owed: share.length };
}
