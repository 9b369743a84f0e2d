import { CLOCK_TOLERANCE_SECONDS } from "../contracts/tokens.ts";

/**
 * The last second (the org object's clock) a person's browser `grant` entry
 * may have been recorded at for their `subject` cut-off, or their
 * `client_subject` cut-off at that grant's client, at `cutOff` to
 * refuse every token of that grant, so the entry may be dropped. Both the
 * org's object (workers/org-state/src/browser-grant-revocation.ts) and a
 * gateway view that follows its log (workers/gateway/src/trust/revocation-index.ts)
 * drop by this one rule, so the view holds what the snapshot holds.
 *
 * Every token of an ended grant was signed before its entry was recorded,
 * but `iat` is stamped by the signer's clock (the authn and token Workers),
 * the entry and the cut-off by the object's. A verifier accepts a signer up
 * to CLOCK_TOLERANCE_SECONDS ahead (RFC 7519 §4.1.6 leaves the leeway to
 * the verifier; ours is that constant), so a token of a grant whose entry
 * was recorded at `r` may carry an `iat` up to `r + CLOCK_TOLERANCE_SECONDS`.
 * The cut-off refuses `iat <= cutOff` (shared/revocation/is-token-revoked.ts),
 * so it covers the grant only when `r + CLOCK_TOLERANCE_SECONDS <= cutOff`.
 * A younger entry is kept: dropping it would let such a token back in.
 */
export function lastGrantEntryCoveredBy(cutOff: number): number {
  return cutOff - CLOCK_TOLERANCE_SECONDS;
}
