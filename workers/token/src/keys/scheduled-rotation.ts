import { tokenConfig } from "../config.ts";
import { scheduledRotation } from "./rotation.ts";
import { keyStore } from "./signing-keys.ts";

/**
 * The key half of the cron trigger (scheduled.ts):
 * one staged-rotation run (keys/rotation.ts). A run that changed the key set
 * leaves a structured log line; a failure throws, so the platform records
 * the failed invocation, and the next run (a few minutes later) retries
 * from whatever state D1 holds.
 */
export async function rotateOnSchedule(controller: ScheduledController, env: TokenEnv): Promise<void> {
  const config = tokenConfig(env);
  // The clock, not controller.scheduledTime: a late or retried invocation
  // must not date a key's end of signing before it really stopped.
  const report = await scheduledRotation(keyStore(env, config), {
    rotationPeriodSeconds: config.signingKeyRotationSeconds,
  });
  if (report.published) console.log(JSON.stringify({ event: "keys.rotation", cron: controller.cron, ...report }));
}
