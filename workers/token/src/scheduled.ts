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
  const [rotation, cutoffs, memberCutoffs, orgCutoffs, grantCutoffs, pruned] = await Promise.allSettled([
    rotateOnSchedule(controller, env),
    finishOwedCutoffs(env, waitUntil),
    finishOwedMemberCutoffs(env, waitUntil),
    finishOwedOrgCutoffs(env, waitUntil),
    finishOwedGrantCutoffs(env, waitUntil),
    pruneExpiredRows(env.DB),
  ]);
  if (cutoffs.status === "fulfilled" && cutoffs.value.owed > 0) {
    console.log(JSON.stringify({ event: "clients.owed_cutoffs", cron: controller.cron, ...cutoffs.value }));
  }
  if (memberCutoffs.status === "fulfilled" && memberCutoffs.value.owed > 0) {
    console.log(JSON.stringify({ event: "members.owed_cutoffs", cron: controller.cron, ...memberCutoffs.value }));
  }
  if (orgCutoffs.status === "fulfilled" && orgCutoffs.value.owed > 0) {
    console.log(JSON.stringify({ event: "orgs.owed_cutoffs", cron: controller.cron, ...orgCutoffs.value }));
  }
  if (grantCutoffs.status === "fulfilled" && grantCutoffs.value.owed > 0) {
    console.log(JSON.stringify({ event: "oidc.owed_grant_cutoffs", cron: controller.cron, ...grantCutoffs.value }));
  }
  if (pruned.status === "fulfilled" && prunedAnything(pruned.value)) {
    console.log(JSON.stringify({ event: "storage.pruned", cron: controller.cron, ...pruned.value }));
  }
  const failed = [rotation, cutoffs, memberCutoffs, orgCutoffs, grantCutoffs, pruned].find(
    (r) => r.status === "rejected",
  );
  if (failed) throw failed.reason;
}
