import {
  DPOP_SIGNING_ALGS,
  type AccessTokenClaims,
  CLOCK_TOLERANCE_SECONDS,
} from "../../../../shared/contracts/tokens.ts";
import { DpopProofError } from "../../../../shared/dpop/errors.ts";
import { readDpopProofHeader } from "../../../../shared/dpop/read-proof-header.ts";
import { verifyDpopProof } from "../../../../shared/dpop/verify-dpop-proof.ts";
import type { TokenScheme } from "./bearer-token.ts";
import type { DpopReplayCache } from "./dpop-replay-cache.ts";

/**
 * How old a proof may be at the gateway (RFC 9449 §11.1). Tight, because
 * replay is checked only per isolate here (trust/dpop-replay-cache.ts): a
 * client makes a fresh proof for every request anyway.
 */
export const GATEWAY_PROOF_MAX_AGE_SECONDS = 30;

/** The proof algorithms a DPoP challenge names (RFC 9449 §7.1 `algs`). */
export const DPOP_CHALLENGE_ALGS: readonly string[] = DPOP_SIGNING_ALGS;

export interface DpopBindingInput {
  request: Request;
  url: URL;
  scheme: TokenScheme;
  token: string;
  claims: AccessTokenClaims;
}

export interface DpopBindingDeps {
  /** The public origin: the `htu` a client signs is this plus the request's path. */
  origin: string;
  replays: DpopReplayCache;
}

/**
 * RFC 9449 §7 at the resource: a token with `cnf.jkt` is accepted only with
 * the DPoP scheme and a valid proof for this very request (method, URL, the
 * token's hash) by the key the token is bound to, seen once; a token without
 * one only with the Bearer scheme (so a bearer token cannot pass as
 * proof-of-possession, nor a bound one as bearer: §7.2's downgrade). Returns
 * the refusal, or undefined when the request may go on.
 */
export async function checkDpopBinding(
  input: DpopBindingInput,
  deps: DpopBindingDeps,
): Promise<DpopProofError | undefined> {
  const bound = input.claims.cnf?.jkt;
  if (bound === undefined) return input.scheme === "DPoP" ? new DpopProofError("ERR_DPOP_NOT_BOUND") : undefined;
  if (input.scheme !== "DPoP") return new DpopProofError("ERR_DPOP_SCHEME");
  try {
    const proof = readDpopProofHeader(input.request.headers);
    if (proof === undefined) return new DpopProofError("ERR_DPOP_MISSING");
    const now = Math.floor(Date.now() / 1000);
    const verified = await verifyDpopProof(proof, {
      method: input.request.method,
      uri: `${deps.origin}${input.url.pathname}`,
      now,
      maxAgeSeconds: GATEWAY_PROOF_MAX_AGE_SECONDS,
      clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
      accessToken: input.token,
      boundJkt: bound,
    });
    const until = verified.iat + GATEWAY_PROOF_MAX_AGE_SECONDS + CLOCK_TOLERANCE_SECONDS;
    if (!deps.replays.consume(verified.jkt, verified.jti, until, now)) return new DpopProofError("ERR_DPOP_REPLAY");
    return undefined;
  } catch (error) {
    if (error instanceof DpopProofError) return error;
    throw error;
  }
}
