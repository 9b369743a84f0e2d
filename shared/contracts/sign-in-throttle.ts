/**
 * The progressive sign-in delay's policy (workers/authn/src/limits/sign-in-throttle.ts
 * applies it). Here because the token Worker's cron prunes `sign_in_throttle`
 * runs older than `windowSeconds` (workers/token/src/maintenance/prune-expired.ts).
 */
export const SIGN_IN_THROTTLE_POLICY = {
  freeFailuresPerAccount: 5,
  freeFailuresPerAddress: 20,
  maxDelaySeconds: 300,
  windowSeconds: 60 * 60,
} as const;
