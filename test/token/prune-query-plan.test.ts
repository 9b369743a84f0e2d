/**
 * The cron's prune (workers/token/src/maintenance/prune-expired.ts) finds
 * what it deletes through an index on the column it ranges over
 * (migrations 0022_prune_indexes.sql and 0023_prune_more_indexes.sql), so a run reads the rows it deletes
 * rather than the whole table: SQLite's own plan for each statement, as D1
 * runs it, must search that table by the index and scan no table.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { pruneStatements } from "../../workers/token/src/maintenance/prune-expired.ts";

/** The index each statement's selection must go through, and the range it searches. */
const EXPECTED: Record<string, RegExp[]> = {
  oidc_client_assertion: [/USING (COVERING )?INDEX oidc_client_assertion_expires_at_idx \(expires_at<\?\)/],
  sign_in_throttle: [/USING (COVERING )?INDEX sign_in_throttle_first_failure_idx \(first_failure_at<\?\)/],
  oidc_access_token: [/USING (COVERING )?INDEX oidc_access_token_expires_at_idx \(expires_at<\?\)/],
  oidc_refresh_token: [/USING (COVERING )?INDEX oidc_refresh_token_expires_at_idx \(expires_at<\?\)/],
  // Two statements: the null rows are found by the same index (`IS NULL` is an equality on it).
  session_org: [
    /USING (COVERING )?INDEX session_org_not_after_idx \(not_after=\?\)/,
    /USING (COVERING )?INDEX session_org_not_after_idx \(not_after<\?\)/,
  ],
  session: [/USING (COVERING )?INDEX session_expires_at_idx \(expires_at<\?\)/],
  verification: [/USING (COVERING )?INDEX verification_expires_at_idx \(expires_at<\?\)/],
  invitation: [/USING (COVERING )?INDEX invitation_status_expires_at_idx \(status=\? AND expires_at<\?\)/],
  vault_connect_link: [/USING (COVERING )?INDEX vault_connect_link_expires_at_idx \(expires_at<\?\)/],
  vault_connect_state: [/USING (COVERING )?INDEX vault_connect_state_expires_at_idx \(expires_at<\?\)/],
  redeemed_code_grant: [/USING (COVERING )?INDEX redeemed_code_grant_expires_at_idx \(expires_at<\?\)/],
};

async function plan(sql: string, params: number[]): Promise<string[]> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<{ detail: string }>();
  return results.map((row) => row.detail);
}

describe("the prune's statements use their indexes", () => {
  it("searches every pruned table by its index and scans none", async () => {
    const statements = pruneStatements(Date.now());
    expect(statements.map((s) => s.table).sort()).toEqual(
      Object.entries(EXPECTED)
        .flatMap(([table, patterns]) => patterns.map(() => table))
        .sort(),
    );
    const seen = new Map<string, number>();
    for (const { table, sql, params } of statements) {
      const steps = await plan(sql, params);
      const index = seen.get(table) ?? 0;
      seen.set(table, index + 1);
      expect(
        steps.some((step) => EXPECTED[table]?.[index]?.test(step)),
        `${table}: ${steps.join(" | ")}`,
      ).toBe(true);
      expect(
        steps.filter((step) => step.startsWith("SCAN ")),
        `${table}: ${steps.join(" | ")}`,
      ).toEqual([]);
    }
  });
});
