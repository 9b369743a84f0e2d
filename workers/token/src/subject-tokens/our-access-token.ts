import { isHeaderSafeIdentifier } from "../../../../shared/contracts/headers.ts";
import { type AccessTokenClaims, TOKEN_TYPE } from "../../../../shared/contracts/tokens.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { TokenVerificationError } from "../../../../shared/jwt/errors.ts";
import { verifyAccessToken } from "../../../../shared/jwt/verify-access-token.ts";
import { restingGrantClients } from "../../../../shared/revocation/grant-chain-clients.ts";
import type { TokenVerifier, VerifiedToken } from "./types.ts";

/** Longest token read before parsing: ours are well under 2 KiB. */
const MAX_TOKEN_LENGTH = 8 * 1024;

/**
 * One of our own RFC 9068 access tokens as a subject or actor token
 * (TOKEN_TYPE.accessToken). Which audience it must carry: any audience this
 * issuer mints for (ALLOWED_AUDIENCES), so a token a person got for an API
 * can be handed on under delegation; the exchange then never targets an
 * audience the subject token does not hold (grants/token-exchange-targets.ts).
 * A token for the admin API (adminAudience) is not among them, so it never
 * turns into anything else.
 *
 * Refusals are `invalid_grant` (RFC 6749 §5.2: the grant presented is
 * invalid, expired or revoked), with the verifier's stable code in the
 * description. Revocation is checked next, by requireNotRevoked
 * (subject-tokens/not-revoked.ts), for the request's tokens together.
 */
export const verifyOurAccessToken: TokenVerifier = async (token, role, context) => {
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new OAuthError(
      "invalid_grant",
      `${role}: ${new TokenVerificationError("ERR_TOKEN_MALFORMED").publicDescription}`,
    );
  }
  let claims: AccessTokenClaims;
  try {
    claims = await verifyAccessToken(token, {
      issuer: context.config.issuer,
      audience: [...context.config.allowedAudiences],
      resolveKey: context.resolveKey,
    });
  } catch (error) {
    if (error instanceof TokenVerificationError)
      throw new OAuthError("invalid_grant", `${role}: ${error.publicDescription}`);
    throw error;
  }
  // What the gateway refuses (RFC 9110 §5.5, shared/contracts/headers.ts) is never exchanged into a token we
  // sign again: a `sub`, `org_id` or `act.sub` that is no header value as it stands, in a token signed before
  // our signers held to it, would otherwise outlive it in the new one (`sub`, `org_id`, an `act` chain).
  if (!headerSafeClaims(claims)) {
    throw new OAuthError(
      "invalid_grant",
      `${role}: ${new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID").publicDescription}`,
    );
  }
  const grantClients = restingGrantClients(claims);
  const unchecked: VerifiedToken = {
    type: TOKEN_TYPE.accessToken,
    subject: claims.sub,
    orgId: claims.org_id,
    clientId: claims.client_id,
    audiences: typeof claims.aud === "string" ? [claims.aud] : claims.aud,
    scopes: (claims.scope ?? "").split(" ").filter(Boolean),
    jti: claims.jti,
    issuedAt: claims.iat,
    expiresAt: claims.exp,
    ...(claims.sid ? { sessionId: claims.sid } : {}),
    ...(claims.roles ? { roles: claims.roles } : {}),
    ...(claims.act ? { act: claims.act } : {}),
    ...(claims.cnf ? { boundKey: claims.cnf.jkt } : {}),
    ...(claims.grant_id || claims.grant_chain
      ? { grants: [...(claims.grant_id ? [claims.grant_id] : []), ...(claims.grant_chain ?? [])] }
      : {}),
    ...(grantClients !== undefined ? { grantClients } : {}),
    ...(claims.derived_from ? { derivedFrom: claims.derived_from } : {}),
  };
  return { role, revocable: claims, unchecked };
};

function headerSafeClaims(claims: AccessTokenClaims): boolean {
  return (
    isHeaderSafeIdentifier(claims.sub) &&
    isHeaderSafeIdentifier(claims.org_id) &&
    (claims.act === undefined || isHeaderSafeIdentifier(claims.act.sub))
  );
}
