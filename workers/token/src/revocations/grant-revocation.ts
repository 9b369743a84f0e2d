import { HttpError } from "../../../../shared/errors/http.ts";
import { recordOperatorRevocation } from "./operator-revoke.ts";

export interface GrantCutoff {
  orgId: string;
  /** The grant id the tokens minted under it carry (`grant_id`, `grant_chain`). */
  grantId: string;
  reason: string;
}

/**
 * Revokes a grant (a delegation grant, an MCP grant) by recording its
 * `grant` revocation in the org's Durable Object FIRST, then running
 * `markRevoked`, the D1 write that makes every list, audit event and
 * webhook say `revoked`.
 *
 * The entry refuses every token carrying the grant's id whenever it was
 * issued (shared/revocation/is-token-revoked.ts: no `iat` comparison), so
 * recording it again is harmless and recording it early cuts off nothing
 * the revocation would not. The order is what keeps a failure honest:
 * - the object refuses: 503 `temporarily_unavailable`
 *   (revocations/operator-revoke.ts) and D1 untouched, so the grant reads
 *   `active`, nothing announced it, and the retry redoes all of it; no row
 *   says `revoked` while tokens minted under it still pass.
 * - D1 fails after the object has it: 503 `temporarily_unavailable` as
 *   well (fails closed: the tokens are already refused), and the retry,
 *   recording again first, marks it.
 * A retry of a grant D1 already says is revoked records again too, so an
 * answer never rests on an earlier call having recorded it.
 */
export async function revokeGrantRecordedFirst<T>(
  env: TokenEnv,
  cutoff: GrantCutoff,
  waitUntil: (promise: Promise<unknown>) => void,
  markRevoked: () => Promise<T>,
): Promise<T> {
  await recordOperatorRevocation(
    env,
    { orgId: cutoff.orgId, kind: "grant", value: cutoff.grantId, reason: cutoff.reason },
    waitUntil,
  );
  try {
    return await markRevoked();
  } catch (error) {
    if (error instanceof HttpError) throw error;
    console.error("grant revocation recorded, not marked in D1", cutoff.orgId, cutoff.grantId, error);
    throw new HttpError("temporarily_unavailable", "the grant's revocation could not be saved; retry");
  }
}
