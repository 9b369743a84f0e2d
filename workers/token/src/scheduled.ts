import { finishOwedMemberCutoffs } from "./admin/owed-member-cutoffs.ts";
import { finishOwedOrgCutoffs } from "./admin/owed-org-cutoffs.ts";
import { finishOwedCutoffs } from "./clients/owed-cutoffs.ts";
import { rotateOnSchedule } from "./keys/scheduled-rotation.ts";
import { finishOwedGrantCutoffs } from "./oidc/owed-grant-cutoffs.ts";
import { prunedAnything, pruneExpiredRows } from "./maintenance/prune-expired.ts";

/**
 * The cron trigger (workers/token/wrangler.toml `[triggers]`, every five
 * minutes): the staged key rotation, the cut-offs that client narrowings,
 * member removals or demotions, org deletions and ended browser grants still owe, and a bounded prune of D1
 * rows nothing reads any more. Each runs whatever the others do; if any
 * fails the invocation throws, so the platform records it, and the next run
 * retries from what D1 holds.
 */
export async function onSchedule(controller: ScheduledController, env: TokenEnv, ctx: ExecutionContext): Promise<void> {
  const waitUntil = (promise: Promise<unknown>) => ctx.waitUntil(promise);
  const rotating = rotateOnSchedule(controller, env);
  // Each owed cut-off queue with the event its run's counts are logged under.
  const owed = [
    { event: "clients.owed_cutoffs", run: finishOwedCutoffs(env, waitUntil) },
    { event: "members.owed_cutoffs", run: finishOwedMemberCutoffs(env, waitUntil) },
    { event: "orgs.owed_cutoffs", run: finishOwedOrgCutoffs(env, waitUntil) },
    { event: "oidc.owed_grant_cutoffs", run: finishOwedGrantCutoffs(env, waitUntil) },
  ];
  const pruning = pruneExpiredRows(env.DB);
  const finishing = Promise.allSettled(owed.map(({ run }) => run));
  const [rotation, pruned] = await Promise.allSettled([rotating, pruning]);
  const finished = await finishing;
  finished.forEach((outcome, i) => {
    if (outcome.status === "fulfilled" && outcome.value.owed > 0) {
      console.log(JSON.stringify({ event: owed[i]?.event, cron: controller.cron, ...outcome.value }));
    }
  });
  if (pruned.status === "fulfilled" && prunedAnything(pruned.value)) {
    console.log(JSON.stringify({ event: "storage.pruned", cron: controller.cron, ...pruned.value }));
  }
  const failed = [rotation, ...finished, pruned].find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}
