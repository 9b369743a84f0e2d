import { REALM } from "../../../../shared/contracts/endpoints.ts";
import { DPOP_HEADER } from "../../../../shared/contracts/headers.ts";
import { REPLAY_SCOPE, replayGuardName } from "../../../../shared/contracts/replay.ts";
import {
  type AccessTokenClaims,
  CLOCK_TOLERANCE_SECONDS,
  DPOP_SIGNING_ALGS,
} from "../../../../shared/contracts/tokens.ts";
import { DpopProofError } from "../../../../shared/dpop/errors.ts";
import { readDpopProofHeader } from "../../../../shared/dpop/read-proof-header.ts";
import { verifyDpopProof } from "../../../../shared/dpop/verify-dpop-proof.ts";
import { bearerErrorResponse } from "../../../../shared/errors/bearer.ts";
import { TokenVerificationError } from "../../../../shared/jwt/errors.ts";
import { verifyAccessToken } from "../../../../shared/jwt/verify-access-token.ts";
import { tokenConfig } from "../config.ts";
import { currentDpopNonce, isAcceptedDpopNonce } from "../dpop/nonce.ts";
import { databaseKeyResolver } from "../keys/database-key-resolver.ts";

/**
 * How old a DPoP proof may be at the token Worker's own resources (RFC 9449
 * §11.1): as at the token endpoint, since here too every proof's `jti` is
 * consumed in the strongly consistent ReplayGuard, and this bounds how long
 * it is remembered.
 */
export const RESOURCE_PROOF_MAX_AGE_SECONDS = 60;

/** The HTTP authentication scheme a token came with (RFC 9110 §11.1: matched case-insensitively). */
export type ResourceTokenScheme = "Bearer" | "DPoP";

/** RFC 6750 §2.1 / RFC 9449 §7.1: `Bearer` or `DPoP`, one or more spaces, a token68. */
const CREDENTIALS = /^(bearer|dpop) +([A-Za-z0-9\-._~+/]+=*)$/i;
const SCHEME_ONLY = /^(bearer|dpop)(\s|$)/i;

export interface ResourceTokenRequirements {
  /** RFC 9068 §4: the audience the resource accepts. */
  audience: string;
  /**
   * Whether the token still stands at the source of truth (its client, the
   * revocation state); false is answered `invalid_token` ERR_TOKEN_REVOKED.
   * May throw TokenVerificationError for a more precise code.
   */
  stillValid: (claims: AccessTokenClaims) => Promise<boolean>;
}

/** A request that passed: its verified claims and the scheme it used. */
export interface ResourceToken {
  claims: AccessTokenClaims;
  scheme: ResourceTokenScheme;
}

/**
 * The one authentication step of the token Worker's own protected
 * resources (the admin API, the agent API, the SSF transmitter): an RFC
 * 9068 access token for `audience`, verified against our keys (D1), and
 * its DPoP binding (RFC 9449 §7) enforced the way the gateway enforces it
 * for downstreams:
 * - `Bearer` with an unbound token: accepted (RFC 6750);
 * - `Bearer` with a token carrying `cnf.jkt`: refused `invalid_token`
 *   ERR_DPOP_SCHEME (§7.1: a resource MUST NOT accept a bound token as a
 *   bearer token, or a stolen bound token would be a bearer token again);
 * - `DPoP` with an unbound token: refused `invalid_token` ERR_DPOP_NOT_BOUND;
 * - `DPoP` with a bound token: a proof (shared/dpop/verify-dpop-proof.ts)
 *   for this method and this URL as the public issuer names it (§4.3 steps
 *   8-9), for this token (`ath`, step 12), by the token's key (`cnf.jkt`),
 *   at most RESOURCE_PROOF_MAX_AGE_SECONDS old (step 11), carrying the
 *   server's nonce when DPOP_NONCE_REQUIRED (§9, the token endpoint's
 *   stateless nonces, dpop/nonce.ts), and used once: its `jti` is consumed
 *   in the ReplayGuard under `dpop:<jkt>` (§11.1). These resources are
 *   called rarely and already read D1 and a Durable Object per call, so the
 *   strongly consistent store costs little, where the gateway's hot path
 *   settles for an isolate cache.
 *
 * Answers: no credentials → 401 bare Bearer challenge; a malformed header →
 * 400 `invalid_request`; a token that does not verify or no longer stands →
 * 401 `invalid_token`; a DPoP refusal → 401 with a `DPoP` challenge (§7.1,
 * `algs`) and the §12.2 code (`invalid_dpop_proof`, `invalid_token`, or
 * `use_dpop_nonce` with the `DPoP-Nonce` header to use, §9). The caller
 * then checks scope and principal.
 */
export async function authenticateResourceToken(
  env: TokenEnv,
  request: Request,
  requirements: ResourceTokenRequirements,
): Promise<ResourceToken | Response> {
  const header = request.headers.get("Authorization");
  const named = header === null ? null : SCHEME_ONLY.exec(header);
  if (header === null || named === null) return bearerErrorResponse({ realm: REALM });
  const scheme: ResourceTokenScheme = named[1]?.toLowerCase() === "dpop" ? "DPoP" : "Bearer";
  const token = CREDENTIALS.exec(header)?.[2];
  if (!token) {
    return bearerErrorResponse({
      realm: REALM,
      scheme,
      error: "invalid_request",
      description: "malformed Authorization header",
    });
  }
  const config = tokenConfig(env);
  let claims: AccessTokenClaims;
  try {
    claims = await verifyAccessToken(token, {
      issuer: config.issuer,
      audience: requirements.audience,
      resolveKey: databaseKeyResolver(env.DB),
    });
  } catch (error) {
    if (!(error instanceof TokenVerificationError)) throw error;
    return bearerErrorResponse({ realm: REALM, scheme, error: "invalid_token", description: error.publicDescription });
  }
  const refusal = await checkBinding(env, request, { scheme, token, claims });
  if (refusal) return refusal;
  try {
    if (!(await requirements.stillValid(claims))) throw new TokenVerificationError("ERR_TOKEN_REVOKED");
  } catch (error) {
    if (!(error instanceof TokenVerificationError)) throw error;
    return bearerErrorResponse({ realm: REALM, scheme, error: "invalid_token", description: error.publicDescription });
  }
  return { claims, scheme };
}

/** RFC 9449 §7: the scheme matches the token's binding, and a bound token comes with a valid, unused proof. */
async function checkBinding(
  env: TokenEnv,
  request: Request,
  presented: { scheme: ResourceTokenScheme; token: string; claims: AccessTokenClaims },
): Promise<Response | undefined> {
  const bound = presented.claims.cnf?.jkt;
  const config = tokenConfig(env);
  const now = Math.floor(Date.now() / 1000);
  try {
    if (bound === undefined) {
      if (presented.scheme === "DPoP") throw new DpopProofError("ERR_DPOP_NOT_BOUND");
      return undefined;
    }
    if (presented.scheme !== "DPoP") throw new DpopProofError("ERR_DPOP_SCHEME");
    const proof = readDpopProofHeader(request.headers);
    if (proof === undefined) throw new DpopProofError("ERR_DPOP_MISSING");
    const verified = await verifyDpopProof(proof, {
      method: request.method,
      // §4.3 step 9: the URL the client called, as the public issuer names it
      // (behind the gateway, this Worker may see another origin).
      uri: `${config.issuer}${new URL(request.url).pathname}`,
      now,
      maxAgeSeconds: RESOURCE_PROOF_MAX_AGE_SECONDS,
      clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
      accessToken: presented.token,
      boundJkt: bound,
      acceptNonce: config.dpopNonceRequired
        ? (nonce) => nonce !== undefined && isAcceptedDpopNonce(config.keyEncryptionSecret, nonce, now)
        : undefined,
    });
    // After its window the proof is refused as too old, so the marker may go then.
    const expiresAt = verified.iat + RESOURCE_PROOF_MAX_AGE_SECONDS + CLOCK_TOLERANCE_SECONDS;
    const guard = env.REPLAY_GUARD.getByName(replayGuardName(REPLAY_SCOPE.dpop(verified.jkt)));
    if (!(await guard.consume(verified.jti, expiresAt))) throw new DpopProofError("ERR_DPOP_REPLAY");
    return undefined;
  } catch (error) {
    if (!(error instanceof DpopProofError)) throw error;
    const response = bearerErrorResponse({
      realm: REALM,
      scheme: "DPoP",
      error: error.protocolError,
      description: error.publicDescription,
      algs: DPOP_SIGNING_ALGS,
    });
    // §9: the nonce to put in the next proof.
    if (error.protocolError === "use_dpop_nonce") {
      response.headers.set(DPOP_HEADER.nonce, await currentDpopNonce(config.keyEncryptionSecret, now));
    }
    return response;
  }
}
