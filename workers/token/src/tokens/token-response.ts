import type { TokenServiceResult } from "../../../../shared/contracts/token-service.ts";
import { ACCESS_TOKEN_TYPE, TOKEN_TYPE } from "../../../../shared/contracts/tokens.ts";
import { NO_STORE_HEADERS, OAuthError } from "../../../../shared/errors/oauth.ts";
import type { IssuedToken } from "../grants/types.ts";

/** RFC 6749 §5.1 (and RFC 8693 §2.2.1 for `issued_token_type`). */
export function tokenResponseBody(issued: IssuedToken): Record<string, string | number> {
  return {
    access_token: issued.minted.token,
    ...(issued.issuedTokenType ? { issued_token_type: issued.issuedTokenType } : {}),
    token_type: tokenType(issued),
    expires_in: issued.minted.expiresIn,
    scope: issued.scope,
  };
}

/**
 * RFC 8693 §2.2.1: `N_A` for a token that is not an access token (an ID-JAG,
 * the ID-JAG draft §4.3.4); RFC 9449 §5: a DPoP-bound token says so. Read
 * from what was issued, so it cannot drift.
 */
function tokenType(issued: IssuedToken): string {
  if (issued.issuedTokenType === TOKEN_TYPE.idJag) return ACCESS_TOKEN_TYPE.notApplicable;
  return "cnf" in issued.minted.claims && issued.minted.claims.cnf ? ACCESS_TOKEN_TYPE.dpop : ACCESS_TOKEN_TYPE.bearer;
}

/** §5.1: the response carries a credential, so it is never stored. */
export function tokenResponse(issued: IssuedToken, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(tokenResponseBody(issued)), {
    status: 200,
    headers: { ...headers, "Content-Type": "application/json", ...NO_STORE_HEADERS },
  });
}

/** The same answer for a caller that is not HTTP (the RPC entrypoint). */
export function tokenServiceSuccess(issued: IssuedToken): TokenServiceResult {
  return { status: 200, body: tokenResponseBody(issued) };
}

/**
 * The §5.2 body with its status. Anything that is not an OAuthError is our
 * fault: a bare server_error, the cause only in the log.
 */
export function tokenServiceFailure(error: unknown): TokenServiceResult {
  if (!(error instanceof OAuthError)) console.error("token service failed", error);
  const known = error instanceof OAuthError ? error : new OAuthError("server_error", "internal error");
  return { status: known.status, body: { error: known.code, error_description: known.description } };
}
