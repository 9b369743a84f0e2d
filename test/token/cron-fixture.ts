import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { OWED_ROWS_PER_RUN } from "../../shared/revocation/owed-cutoff-queue.ts";
import worker from "../../workers/token/src/index.ts";

/** One run of the token Worker's cron trigger, its waitUntil work included. */
export async function runCron(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/**
 * Runs the cron as often as it takes to reach an `owed_org_cutoff` row: each
 * run records the OWED_ROWS_PER_RUN oldest rows and sends those refused
 * behind the newer ones, and the files of a project share one runtime, so
 * earlier files may leave owed rows older than this one (refused or not).
 */
export async function cronReaching(row: { id: string; created_at: number }): Promise<void> {
  const ahead = await env.DB.prepare(
    "SELECT count(*) AS n FROM owed_org_cutoff WHERE created_at < ?1 OR (created_at = ?1 AND id < ?2)",
  )
    .bind(row.created_at, row.id)
    .first<{ n: number }>();
  const runs = Math.floor((ahead?.n ?? 0) / OWED_ROWS_PER_RUN) + 1;
  for (let run = 0; run < runs; run += 1) await runCron();
}
