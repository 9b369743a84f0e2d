// Every statement the owed cut-off stores send (shared/revocation/
// owed-member-cutoffs.ts, owed-org-cutoffs.ts, owed-grant-cutoffs.ts and the
// queue they share, owed-cutoff-queue.ts; the SQL recorded on its way to D1)
// seeks an index: the reads one of migration 0033's (0029's and 0030's for
// grants), in their own order (created_at, then the key), so none reads every
// owed row and sorts them in a temporary B-tree — one org's deletion, one SCIM
// Group write, one membership change, one retried revocation each read only
// their own rows; the writes their primary key.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { clearOwedRows, oldestOwedRows, postponeOwedRow } from "../../shared/revocation/owed-cutoff-queue.ts";
import {
  clearOwedGrantCutoff,
  OWED_GRANT_CUTOFFS,
  owedGrantCutoffsOf,
} from "../../shared/revocation/owed-grant-cutoffs.ts";
import {
  clearOwedMemberCutoffs,
  MEMBER_LEFT,
  OWED_MEMBER_CUTOFFS,
  owedMemberCutoffsFor,
  owedMemberCutoffsOf,
} from "../../shared/revocation/owed-member-cutoffs.ts";
import {
  clearOwedOrgCutoffs,
  deleteOrgOwingRow,
  OWED_ORG_CUTOFFS,
  owedOrgCutoff,
  owedOrgCutoffsFor,
} from "../../shared/revocation/owed-org-cutoffs.ts";
import { planOfStatement, recordingDb, type SentStatement } from "../support/runtime/query-plans.ts";

// The token project's files share one runtime (vitest.config.ts): every org,
// row and key here is this test's own, so no statement below reads, moves or
// deletes another file's rows, and what a test writes it deletes.
const fresh = (kind: string) => `${kind}-${crypto.randomUUID()}`;

/** SQLite's plan of the one statement `run` sends, one detail line per step. */
async function planOf(run: (db: D1Database) => Promise<unknown>): Promise<string> {
  const sent: SentStatement[] = [];
  await run(recordingDb(sent));
  expect(sent).toHaveLength(1);
  return planOfStatement(sent[0] as SentStatement);
}

/** The plan seeks `index` of `table` by `range`, scans no table of ours and sorts nothing. */
function expectSeeks(plan: string, table: string, index: string, range: string): void {
  const seek = new RegExp(`SEARCH ${table} USING (COVERING )?INDEX ${index} \\(${range.replace(/[?()]/g, "\\$&")}\\)`);
  expect(plan, plan).toMatch(seek);
  // Only json_each (the ids a clear names) may be scanned: it is the request's own list, not a table.
  expect(
    plan.split("\n").filter((step) => /^SCAN /.test(step) && !/json_each/.test(step)),
    plan,
  ).toEqual([]);
  expect(plan, plan).not.toMatch(/TEMP B-TREE/);
}

describe("owed_org_cutoff", () => {
  it("one org's rows (each signed-in /organization/delete) seek owed_org_cutoff_org_idx", async () => {
    const plan = await planOf((db) => owedOrgCutoffsFor(db, fresh("org")));
    expectSeeks(plan, "owed_org_cutoff", "owed_org_cutoff_org_idx", "org_id=?");
  });

  it("a deletion's batch unsets the org as sessions' active one through session_active_org_idx (migration 0034)", async () => {
    const sent: SentStatement[] = [];
    // No such org: the batch deletes nothing, so its row (written only after a delete) is not written either.
    await deleteOrgOwingRow(recordingDb(sent), owedOrgCutoff(fresh("org"), "org-deleted"));
    const unset = sent.find((statement) => statement.sql.startsWith("UPDATE session"));
    expectSeeks(
      await planOfStatement(unset as SentStatement),
      "session",
      "session_active_org_idx",
      "active_organization_id=?",
    );
  });

  it("the cron's share walks owed_org_cutoff_created_at_idx, oldest first", async () => {
    const plan = await planOf((db) => oldestOwedRows(db, OWED_ORG_CUTOFFS, 10));
    // No range: the share is the first rows of the index, which the walk stops after (LIMIT).
    expect(plan, plan).toMatch(/SCAN owed_org_cutoff USING (COVERING )?INDEX owed_org_cutoff_created_at_idx/);
    expect(plan, plan).not.toMatch(/TEMP B-TREE/);
  });

  it("a postponement and a clear seek the primary key", async () => {
    const postpone = await planOf((db) => postponeOwedRow(db, OWED_ORG_CUTOFFS, fresh("row")));
    expectSeeks(postpone, "owed_org_cutoff", "sqlite_autoindex_owed_org_cutoff_1", "id=?");
    const clear = await planOf((db) => clearOwedOrgCutoffs(db, [fresh("row"), fresh("row")]));
    expectSeeks(clear, "owed_org_cutoff", "sqlite_autoindex_owed_org_cutoff_1", "id=?");
  });
});

describe("owed_grant_cutoff", () => {
  it("a retried revocation's rows (its token's stored form) seek owed_grant_cutoff_presented_idx", async () => {
    const plan = await planOf((db) => owedGrantCutoffsOf(db, fresh("presented")));
    expectSeeks(plan, "owed_grant_cutoff", "owed_grant_cutoff_presented_idx", "presented=?");
  });

  it("the cron's share seeks owed_grant_cutoff_created_at_idx by its in-flight window", async () => {
    const plan = await planOf((db) => oldestOwedRows(db, OWED_GRANT_CUTOFFS, 10));
    expectSeeks(plan, "owed_grant_cutoff", "owed_grant_cutoff_created_at_idx", "created_at<?");
  });

  it("a postponement and the clears (the request's one grant, the cron's recorded rows) seek the primary key", async () => {
    const grants = [fresh("grant"), fresh("grant")];
    const postpone = await planOf((db) => postponeOwedRow(db, OWED_GRANT_CUTOFFS, fresh("grant")));
    expectSeeks(postpone, "owed_grant_cutoff", "sqlite_autoindex_owed_grant_cutoff_1", "grant_id=?");
    const clearOne = await planOf((db) => clearOwedGrantCutoff(db, fresh("grant")));
    expectSeeks(clearOne, "owed_grant_cutoff", "sqlite_autoindex_owed_grant_cutoff_1", "grant_id=?");
    const clear = await planOf((db) => clearOwedRows(db, OWED_GRANT_CUTOFFS, grants));
    expectSeeks(clear, "owed_grant_cutoff", "sqlite_autoindex_owed_grant_cutoff_1", "grant_id=?");
    const cronClear = await planOf((db) => clearOwedRows(db, OWED_GRANT_CUTOFFS, grants, Date.now()));
    expectSeeks(cronClear, "owed_grant_cutoff", "sqlite_autoindex_owed_grant_cutoff_1", "grant_id=?");
  });

  it("the cron's clear leaves a grant owed again after its share was read: that row is its writer's", async () => {
    const sharedAt = Date.now();
    const orgId = fresh("org");
    const read = fresh("grant-read");
    const again = fresh("grant-again");
    const insert = env.DB.prepare(
      `INSERT INTO owed_grant_cutoff (grant_id, org_id, client_id, user_id, presented, reason, created_at)
       VALUES (?, ?, 'client', 'user', ?, 'reuse', ?)`,
    );
    // `read` was in the share (past the one-minute window); `again` was owed anew while the cron recorded.
    await env.DB.batch([
      insert.bind(read, orgId, fresh("presented"), sharedAt - 120_000),
      insert.bind(again, orgId, fresh("presented"), sharedAt),
    ]);
    try {
      await clearOwedRows(env.DB, OWED_GRANT_CUTOFFS, [read, again], sharedAt);
      const { results } = await env.DB.prepare("SELECT grant_id FROM owed_grant_cutoff WHERE org_id = ?")
        .bind(orgId)
        .all<{ grant_id: string }>();
      expect(results.map((row) => row.grant_id)).toEqual([again]);
    } finally {
      // Left, `again` would be a later file's cron's share (its org's object asked to record a grant no one made).
      await env.DB.prepare("DELETE FROM owed_grant_cutoff WHERE org_id = ?").bind(orgId).run();
    }
  });
});

describe("owed_member_cutoff", () => {
  it("one person's rows in one org (each membership change) seek owed_member_cutoff_member_idx", async () => {
    const plan = await planOf((db) => owedMemberCutoffsFor(db, fresh("org"), fresh("user")));
    // The statement names the table `o`.
    expectSeeks(plan, "o", "owed_member_cutoff_member_idx", "org_id=? AND user_id=?");
    // A young leave's row asks whether the membership is still there: one seek of member, not a scan.
    expect(plan, plan).toMatch(/SEARCH m USING INDEX member_\w+_idx/);
  });

  it("an org's rows of one reason (each SCIM Group write) seek owed_member_cutoff_reason_idx", async () => {
    const plan = await planOf((db) => owedMemberCutoffsOf(db, fresh("org"), "scim-role-changed", 51));
    expectSeeks(plan, "owed_member_cutoff", "owed_member_cutoff_reason_idx", "org_id=? AND reason=?");
  });

  it("the cron's share seeks owed_member_cutoff_created_at_idx by its grace", async () => {
    const plan = await planOf((db) => oldestOwedRows(db, OWED_MEMBER_CUTOFFS, 10));
    expectSeeks(plan, "owed_member_cutoff", "owed_member_cutoff_created_at_idx", "created_at<?");
  });

  it("a postponement and a clear seek the primary key", async () => {
    const postpone = await planOf((db) => postponeOwedRow(db, OWED_MEMBER_CUTOFFS, fresh("row")));
    expectSeeks(postpone, "owed_member_cutoff", "sqlite_autoindex_owed_member_cutoff_1", "id=?");
    const clear = await planOf((db) => clearOwedMemberCutoffs(db, [fresh("row"), fresh("row")]));
    expectSeeks(clear, "owed_member_cutoff", "sqlite_autoindex_owed_member_cutoff_1", "id=?");
  });

  it("the reads still return their rows in order (created_at, id)", async () => {
    const orgId = fresh("org");
    // One random stem, so the ids sort as their last letters do: a tie on created_at (a and c) is broken by id.
    const stem = crypto.randomUUID();
    const [a, b, c, d] = ["a", "b", "c", "d"].map((letter) => `${stem}-${letter}`) as [string, string, string, string];
    const insert = env.DB.prepare(
      "INSERT INTO owed_member_cutoff (id, org_id, user_id, reason, previous_role, created_at) VALUES (?, ?, ?, ?, 'admin', ?)",
    );
    await env.DB.batch([
      insert.bind(c, orgId, "u1", "role-changed", 2),
      insert.bind(b, orgId, "u1", "role-changed", 1),
      insert.bind(a, orgId, "u1", "role-changed", 2),
      insert.bind(d, orgId, "u2", MEMBER_LEFT, 0),
    ]);
    try {
      expect((await owedMemberCutoffsFor(env.DB, orgId, "u1")).map((row) => row.id)).toEqual([b, a, c]);
      expect((await owedMemberCutoffsOf(env.DB, orgId, "role-changed", 2)).map((row) => row.id)).toEqual([b, a]);
      // The cron's share is the oldest of the whole table, where other files' rows may sit among these
      // (created_at 0 is no one's alone): the share is read to its end, and these rows' order in it checked.
      const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM owed_member_cutoff").first<{ n: number }>()) ?? {
        n: 0,
      };
      const ours = new Set([a, b, c, d]);
      const share = await oldestOwedRows(env.DB, OWED_MEMBER_CUTOFFS, n);
      expect(share.map((row) => row.id).filter((id) => ours.has(id))).toEqual([d, b, a, c]);
    } finally {
      // Left at created_at 0–2, they would head every later file's cron share.
      await env.DB.prepare("DELETE FROM owed_member_cutoff WHERE org_id = ?").bind(orgId).run();
    }
  });
});
