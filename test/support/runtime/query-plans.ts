// SQLite's plans of the statements a store really sends to D1: a store is
// handed a recording binding (every statement still runs on the real
// database), and what it sent is explained afterwards. Query-plan suites use
// it to show a read seeks an index instead of scanning and sorting a table.
import { env } from "cloudflare:workers";

export interface SentStatement {
  sql: string;
  params: unknown[];
}

/** The test's own D1 binding: every statement goes to the real database unchanged, its SQL and parameters kept. */
export function recordingDb(sent: SentStatement[]): D1Database {
  const db = env.DB;
  return {
    prepare(sql: string) {
      const statement = db.prepare(sql);
      const record: SentStatement = { sql, params: [] };
      sent.push(record);
      return {
        bind(...params: unknown[]) {
          record.params = params;
          return statement.bind(...params);
        },
        all: () => statement.all(),
        raw: () => statement.raw(),
        first: () => statement.first(),
        run: () => statement.run(),
      } as unknown as D1PreparedStatement;
    },
    batch: (statements: D1PreparedStatement[]) => db.batch(statements),
    exec: (sql: string) => db.exec(sql),
    withSession: () => db.withSession(),
    dump: () => db.dump(),
  } as unknown as D1Database;
}

/** `EXPLAIN QUERY PLAN` of one sent statement, one detail line per step. */
export async function planOfStatement(statement: SentStatement): Promise<string> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`)
    .bind(...statement.params)
    .all<{ detail: string }>();
  return results.map((row) => row.detail).join("\n");
}
