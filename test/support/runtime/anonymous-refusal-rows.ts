// The audit rows of anonymous refusals (shared/audit/anonymous-refusals.ts) a
// test caused. Such a row names no org, client or subject and carries only
// its key (error, path or grant type), so nothing in it is the test's own. In
// the runtime a project's files share one after another (vitest.config.ts,
// `isolate: false`), earlier tests' refusals of the same key are in the table
// too: only a row whose window took a refusal at or after the test started
// (its `last_at`) can hold the test's refusal.
import { env } from "cloudflare:workers";

/** An aggregate's detail: its key fields, how many refusals it folded, and when the first and last came. */
export interface AnonymousRefusal {
  error: string;
  path?: string;
  grant_type?: string;
  count: number;
  first_at: number;
  last_at: number;
}

/**
 * The outcome and detail of the `kind` aggregates of `error` (and `grantType`, when given) that took a
 * refusal at or after `since` (a `Date.now()` taken before the request). The
 * Worker and the test share the isolate's clock, and a runtime runs one test
 * at a time, so no earlier test's refusal (of this file or another) is that late.
 */
export async function anonymousRefusalsSince(
  kind: "token.refused" | "gateway.decision",
  since: number,
  { error, grantType }: { error: string; grantType?: string },
): Promise<{ outcome: string; detail: AnonymousRefusal }[]> {
  const { results } = await env.AUDIT_DB.prepare(
    `SELECT outcome, detail FROM audit_event
     WHERE kind = ?1 AND org_id IS NULL AND client_id IS NULL AND subject IS NULL
       AND json_extract(detail, '$.error') = ?2
       AND (?3 IS NULL OR json_extract(detail, '$.grant_type') = ?3)
       AND json_extract(detail, '$.last_at') >= ?4`,
  )
    .bind(kind, error, grantType ?? null, since)
    .all<{ outcome: string; detail: string }>();
  return results.map((r) => ({ outcome: r.outcome, detail: JSON.parse(r.detail) as AnonymousRefusal }));
}
