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
 * Revokes a grant (a delegation grant, an MCP grant): its `grant`
 * revocation is recorded in the org's Durable Object FIRST, then D1 marks
 * it revoked and it is announced, then it is recorded once more.
 *
 * The entry refuses every token carrying the grant's id whenever it was
 * issued (shared/revocation/is-token-revoked.ts: no `iat` comparison), so
 * recording it again is harmless and recording it early cuts off nothing
 * the revocation would not. The order is what keeps a failure honest:
 * - the object refuses: 503 `temporarily_unavailable`
 *   (revocations/operator-revoke.ts) with D1 untouched, so the grant reads
 *   `active`, nothing announced it, and the retry redoes all of it: no row,
 *   audit event or webhook says `revoked` while its tokens still pass.
 * - D1 fails after the object has it: 503 `temporarily_unavailable` as
 *   well; the tokens are refused already, but only while the entry lives
 *   (the longest access-token lifetime): a grant nobody retries reads
 *   `active` afterwards and mints again, unannounced. The 503 says the
 *   revocation did not happen; the retry, recording again first, marks it.
 * The second recording is for mints in flight: a mint's `iat` is the moment
 * before it read the grant (mint/mint-access-token.ts), so one that read it
 * `active` just before D1 changed may carry an `iat` past the first
 * recording, and its token could outlive an entry that lives the longest
 * access-token lifetime from then. Recorded again after D1 says revoked, the
 * entry outlives every token of the grant; a 200 means that recording
 * happened. If only it fails, the answer is 503, the grant is revoked and
 * cut off (all but such a token's last seconds), and a retry records it.
 * A retry of a grant D1 already says is revoked records too, so no answer
 * rests on an earlier call having recorded it.
 */
export async function revokeGrantRecordedFirst<T>(
  env: TokenEnv,
  cutoff: GrantCutoff,
  waitUntil: (promise: Promise<unknown>) => void,
  steps: GrantRevocationSteps<T>,
): Promise<T> {
  const revocation = { orgId: cutoff.orgId, kind: "grant" as const, value: cutoff.grantId, reason: cutoff.reason };
  await recordOperatorRevocation(env, revocation, waitUntil);
  let marked: T;
  try {
    marked = await steps.markRevoked();
  } catch (error) {
    if (error instanceof HttpError) throw error;
    console.error("grant revocation recorded, not marked in D1", cutoff.orgId, cutoff.grantId, error);
    throw new HttpError("temporarily_unavailable", "the grant's revocation could not be saved; retry");
  }
  steps.announce?.(marked);
  await recordOperatorRevocation(env, revocation, waitUntil);
  return marked;
}
