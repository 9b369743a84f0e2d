import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { DPOP_HEADER } from "../../../../shared/contracts/headers.ts";
import { REPLAY_SCOPE, replayGuardName } from "../../../../shared/contracts/replay.ts";
import { CLOCK_TOLERANCE_SECONDS } from "../../../../shared/contracts/tokens.ts";
import { DpopProofError } from "../../../../shared/dpop/errors.ts";
import { readDpopProofHeader } from "../../../../shared/dpop/read-proof-header.ts";
import { verifyDpopProof } from "../../../../shared/dpop/verify-dpop-proof.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { loadOrgTokenPolicy } from "../clients/org-policy.ts";
import type { AuthenticatedClient } from "../clients/types.ts";
import type { TokenConfig } from "../config.ts";
import { currentDpopNonce, isAcceptedDpopNonce } from "./nonce.ts";

/** What an access token is bound to (RFC 9449 §6.1: its `cnf.jkt`). */
export interface DpopBinding {
  jkt: string;
}

/**
 * How old a proof may be at the token endpoint (§11.1). With nonces on
 * (DPOP_NONCE_REQUIRED), the nonce bounds freshness too; this bounds how
 * long the proof's `jti` must be remembered.
 */
export const TOKEN_ENDPOINT_PROOF_MAX_AGE_SECONDS = 60;

export interface DpopProofRequest {
  method: string;
  headers: Headers;
}

export interface DpopBindingRequest extends DpopProofRequest {
  client: AuthenticatedClient;
}

export interface DpopBindingContext {
  env: Pick<TokenEnv, "DB" | "REPLAY_GUARD">;
  config: TokenConfig;
}

/**
 * RFC 9449 at the token endpoint, decided once per token request (by
 * endpoints/token.ts, before any grant runs, so every grant's token is
 * bound the same way), in two steps: provenDpopKey before the client is
 * authenticated and dpopBindingOf after (this runs both, for a caller that
 * already has the client). With a `DPoP` header, the proof is verified (§4.3,
 * shared/dpop/), its nonce checked when nonces are required (§8), its `jti`
 * consumed exactly once in the strongly consistent ReplayGuard under scope
 * `dpop:<jkt>` (§11.1), and the token will be bound to its key (§5). Without
 * one, the token is a bearer token unless the client must use DPoP
 * (`oauth_client.require_dpop`, RFC 9449 §5.2 `dpop_bound_access_tokens`;
 * or an agent client of an org whose `org_token_policy.require_dpop_for_agents`
 * is set). Refusals are OAuthError `invalid_dpop_proof` or `use_dpop_nonce`.
 */
export async function dpopBindingFor(
  request: DpopBindingRequest,
  context: DpopBindingContext,
): Promise<DpopBinding | undefined> {
  return dpopBindingOf(request.client, await provenDpopKey(request, context), context.env.DB);
}

/**
 * The key a token request's proof proves (verified, its nonce checked, its
 * `jti` spent), or undefined without a proof. It needs no client, and runs
 * before client authentication: RFC 9449 §8's nonce challenge is answered
 * with `use_dpop_nonce` for the client to retry the same request with a
 * fresh proof, and when the proof was checked only after the client's
 * RFC 7523 assertion had been verified, that assertion's `jti` was spent by
 * the refused request, so the retry §8 asks for failed `invalid_client`
 * ("client assertion already used"). A proof's `jti` spent here costs no
 * one else anything: only the holder of the proof's key can make one.
 */
export async function provenDpopKey(
  request: DpopProofRequest,
  context: DpopBindingContext,
): Promise<DpopBinding | undefined> {
  return asOAuthError(async () => {
    const proof = readDpopProofHeader(request.headers);
    if (proof === undefined) return undefined;
    const { config } = context;
    const now = Math.floor(Date.now() / 1000);
    const verified = await verifyDpopProof(proof, {
      method: request.method,
      // The endpoint as the metadata advertises it: what a client signs.
      uri: `${config.issuer}${ENDPOINT.token}`,
      now,
      maxAgeSeconds: TOKEN_ENDPOINT_PROOF_MAX_AGE_SECONDS,
      clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
      acceptNonce: config.dpopNonceRequired
        ? (nonce) => nonce !== undefined && isAcceptedDpopNonce(config.keyEncryptionSecret, nonce, now)
        : undefined,
    });
    // After its window the proof is refused as too old, so the marker may go then.
    const expiresAt = verified.iat + TOKEN_ENDPOINT_PROOF_MAX_AGE_SECONDS + CLOCK_TOLERANCE_SECONDS;
    const guard = context.env.REPLAY_GUARD.getByName(replayGuardName(REPLAY_SCOPE.dpop(verified.jkt)));
    if (!(await guard.consume(verified.jti, expiresAt))) throw new DpopProofError("ERR_DPOP_REPLAY");
    return { jkt: verified.jkt };
  });
}

/** What the authenticated client's token is bound to: the proven key, or none unless the client must use DPoP. */
export async function dpopBindingOf(
  client: AuthenticatedClient,
  proven: DpopBinding | undefined,
  db: D1Database,
): Promise<DpopBinding | undefined> {
  return asOAuthError(async () => {
    if (proven === undefined && (await dpopRequired(client, db))) throw new DpopProofError("ERR_DPOP_MISSING");
    return proven;
  });
}

/** A DpopProofError as the token endpoint answers it (RFC 9449 §5, §8). */
async function asOAuthError<T>(check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (!(error instanceof DpopProofError)) throw error;
    throw new OAuthError(
      error.protocolError === "use_dpop_nonce" ? "use_dpop_nonce" : "invalid_dpop_proof",
      error.publicDescription,
    );
  }
}

/**
 * RFC 9449 §8: the `DPoP-Nonce` a token endpoint response carries, when
 * nonces are required and the request used DPoP or was refused for it, so
 * the client's next proof can include it. Undefined otherwise.
 */
export async function dpopNonceHeader(
  config: TokenConfig,
  request: { headers: Headers; error?: unknown },
): Promise<Record<string, string> | undefined> {
  if (!config.dpopNonceRequired) return undefined;
  const dpopRefusal =
    request.error instanceof OAuthError &&
    (request.error.code === "invalid_dpop_proof" || request.error.code === "use_dpop_nonce");
  if (!request.headers.has(DPOP_HEADER.proof) && !dpopRefusal) return undefined;
  const nonce = await currentDpopNonce(config.keyEncryptionSecret, Math.floor(Date.now() / 1000));
  return { [DPOP_HEADER.nonce]: nonce };
}

/** Whether a request without a proof must be refused: the client's own setting, or its org's for agents. */
async function dpopRequired(client: AuthenticatedClient, db: D1Database): Promise<boolean> {
  const registration = client.registration;
  if (!registration) return false;
  if (registration.requireDpop) return true;
  if (registration.kind !== "agent" || registration.orgId === null) return false;
  return (registration.orgPolicy ?? (await loadOrgTokenPolicy(db, registration.orgId))).requireDpopForAgents;
}
