import { finishOwedCutoffs } from "./clients/owed-cutoffs.ts";
import { rotateOnSchedule } from "./keys/scheduled-rotation.ts";
import { prunedAnything, pruneExpiredRows } from "./maintenance/prune-expired.ts";

/**
 * The cron trigger (workers/token/wrangler.toml `[triggers]`, every five
 * minutes): the staged key rotation, the client cut-offs narrowing changes
 * still owe, and a bounded prune of D1 rows nothing reads any more. Each
 * runs whatever the others do; if any fails the invocation throws, so the
 * platform records it, and the next run retries from what D1 holds.
 */
export async function onSchedule(controller: ScheduledController, env: TokenEnv, ctx: ExecutionContext): Promise<void> {
  const [rotation, cutoffs, pruned] = await Promise.allSettled([
    rotateOnSchedule(controller, env),
    finishOwedCutoffs(env, (promise) => ctx.waitUntil(promise)),
    pruneExpiredRows(env.DB),
  ]);
  if (cutoffs.status === "fulfilled" && cutoffs.value.owed > 0) {
    console.log(JSON.stringify({ event: "clients.owed_cutoffs", cron: controller.cron, ...cutoffs.value }));
  }
  if (pruned.status === "fulfilled" && prunedAnything(pruned.value)) {
    console.log(JSON.stringify({ event: "storage.pruned", cron: controller.cron, ...pruned.value }));
  }
  const failed = [rotation, cutoffs, pruned].find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}
