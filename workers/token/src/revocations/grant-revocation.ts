import { HttpError } from "../../../../shared/errors/http.ts";
import { recordOperatorRevocation } from "./operator-revoke.ts";

export interface GrantCutoff {
  orgId: string;
  /** The grant id the tokens minted under it carry (`grant_id`, `grant_chain`). */
  grantId: string;
  reason: string;
}

export interface GrantRevocationSteps<T> {
  /** The D1 write that makes every list and exchange see the grant revoked. */
  markRevoked: () => Promise<T>;
  /** What may say it is revoked (audit, webhook), once D1 does; not awaited beyond its own call. */
  announce?: (marked: T) => void;
}

/**
 * How much longer than the longest token lifetime the first recording asks
 * the grant's entry to live (OrgState.revoke, MAX_REVOCATION_SLACK_SECONDS):
 * long enough that D1's mark nearly always lands inside it, short enough
 * that the entry, in every gateway view, the mirror and the log, barely
 * outlives the tokens it can match.
 */
export const GRANT_RECORDING_SLACK_SECONDS = 60;

/**
 * What of the slack is not relied on: 1 s for the whole seconds an entry's
 * recording and a token's `iat` are counted in, the rest for the clocks of
 * this Worker, the org's object and a minting Worker, which may disagree by
 * a few seconds.
 */
export const SLACK_MARGIN_SECONDS = 10;

/**
 * Revokes a grant (a delegation grant, an MCP grant): its `grant`
 * revocation is recorded in the org's Durable Object FIRST, then D1 marks
 * it revoked and it is announced.
 *
 * The entry refuses every token carrying the grant's id whenever it was
 * issued (shared/revocation/is-token-revoked.ts: no `iat` comparison), so
 * recording it early cuts off nothing the revocation would not. The order
 * is what keeps a failure honest:
 * - the object refuses: 503 `temporarily_unavailable`
 *   (revocations/operator-revoke.ts) with D1 untouched, so the grant reads
 *   `active`, nothing announced it, and the retry redoes all of it: no row,
 *   audit event or webhook says `revoked` while its tokens still pass.
 * - D1 fails after the object has it: 503 `temporarily_unavailable` as
 *   well; the tokens are refused already, but only while the entry lives
 *   (the longest access-token lifetime and the slack): a grant nobody
 *   retries reads `active` afterwards and mints again, unannounced. The 503
 *   says the revocation did not happen; the retry, recording first, marks it.
 *
 * Mints in flight: a mint's `iat` is the moment before it read the grant
 * (mint/mint-access-token.ts), so one that read it `active` just before D1
 * changed carries an `iat` up to that change, after the recording, and its
 * token lives up to the longest lifetime from then. So the recording asks
 * the object for `slackSeconds` more life (its log event's `expires_at`
 * says so): the entry outlives every token of the grant as long as D1's
 * mark is done within the slack of the recording, which `startedAt`
 * (taken before it; a Worker's clock never runs ahead of its I/O) and the
 * time D1 answered bound, less SLACK_MARGIN_SECONDS. Then the revocation is
 * one event for subscribers, gateway channels and SSF receivers. A mark
 * slower than that is followed by a second recording, made after D1 says
 * revoked, so that entry outlives the tokens whatever the delay (a second
 * event, rarely); a 200 means it happened. If only it fails, the answer is
 * 503 with the grant revoked, announced and cut off (all but such a
 * token's last seconds), and a retry records it again.
 *
 * A retry of a grant D1 already says is revoked records it too (one event
 * more), so no answer rests on an earlier call having recorded it; the
 * same bound decides whether it records again, since the change it found
 * (before it, or by a call at the same time) was made before D1 answered.
 *
 * `slackSeconds` is GRANT_RECORDING_SLACK_SECONDS for every route; one
 * smaller than SLACK_MARGIN_SECONDS relies on none of it and always records
 * again after D1 (test/token/grant-revocation-second-recording.test.ts).
 */
export async function revokeGrantRecordedFirst<T>(
  env: TokenEnv,
  cutoff: GrantCutoff,
  waitUntil: (promise: Promise<unknown>) => void,
  steps: GrantRevocationSteps<T>,
  slackSeconds: number = GRANT_RECORDING_SLACK_SECONDS,
): Promise<T> {
  const revocation = { orgId: cutoff.orgId, kind: "grant" as const, value: cutoff.grantId, reason: cutoff.reason };
  const startedAt = Date.now();
  await recordOperatorRevocation(env, revocation, waitUntil, slackSeconds);
  let marked: T;
  try {
    marked = await steps.markRevoked();
  } catch (error) {
    if (error instanceof HttpError) throw error;
    console.error("grant revocation recorded, not marked in D1", cutoff.orgId, cutoff.grantId, error);
    throw new HttpError("temporarily_unavailable", "the grant's revocation could not be saved; retry");
  }
  steps.announce?.(marked);
  // Read after D1 answered: no mint that read the grant `active` took its `iat` later.
  if (Date.now() - startedAt > (slackSeconds - SLACK_MARGIN_SECONDS) * 1000) {
    await recordOperatorRevocation(env, revocation, waitUntil);
  }
  return marked;
}
