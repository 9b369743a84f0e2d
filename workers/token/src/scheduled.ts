import { finishOwedCutoffs } from "./clients/owed-cutoffs.ts";
import { rotateOnSchedule } from "./keys/scheduled-rotation.ts";

/**
 * The cron trigger (workers/token/wrangler.toml `[triggers]`, every five
 * minutes): the staged key rotation, and the client cut-offs narrowing
 * changes still owe. Each runs whatever the other does; if either fails the
 * invocation throws, so the platform records it, and the next run retries
 * from what D1 holds.
 */
export async function onSchedule(controller: ScheduledController, env: TokenEnv, ctx: ExecutionContext): Promise<void> {
  const [rotation, cutoffs] = await Promise.allSettled([
    rotateOnSchedule(controller, env),
    finishOwedCutoffs(env, (promise) => ctx.waitUntil(promise)),
  ]);
  if (cutoffs.status === "fulfilled" && cutoffs.value.owed > 0) {
    console.log(JSON.stringify({ event: "clients.owed_cutoffs", cron: controller.cron, ...cutoffs.value }));
  }
  const failed = [rotation, cutoffs].find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}
