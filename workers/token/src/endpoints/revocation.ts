import type { Context } from "hono";
import { NO_STORE_HEADERS, OAuthError } from "../../../../shared/errors/oauth.ts";
import { recordTokenRevocation } from "../../../../shared/revocation/record-revocation.ts";
import { browserRevocation } from "../oidc/browser-revocation.ts";
import { revocableClaims } from "../../../../shared/revocation/revocable-claims.ts";
import { mayManageToken } from "../presented-tokens/managing-client.ts";
import { managementErrorResponse, readManagementRequest } from "../presented-tokens/management-request.ts";
import { RequestSpends } from "../replay/request-spends.ts";

type TokenContext = Context<{ Bindings: TokenEnv }>;

/**
 * POST ENDPOINT.revocation (RFC 7009). An authenticated client (§2.1)
 * revokes one of our access tokens by its `jti`: the entry goes to the
 * token's org's Durable Object (shared/revocation/record-revocation.ts) and
 * is kept until the token's `exp` (plus the clock tolerance), attributed to
 * the token's client, which the object folds into one cut-off of that
 * client's tokens past its cap (docs/revocation.md, "Bounds"); only once
 * it is recorded is 200 answered; if it cannot be, 503 (§2.2.1), and the
 * client retries, with the same client assertion if it used one (given back,
 * replay/request-spends.ts). A client revokes only the tokens issued to it, unless it
 * is a resource server of the token's org (`unauthorized_client` otherwise).
 *
 * `token_type_hint` is only a hint (§2.1: an unknown value is ignored): the
 * token is recognised by its signature and `typ`. An invalid, expired or
 * unknown token is answered 200 (§2.2), as there is nothing left to
 * revoke. "Expired" here keeps the verifiers' clock tolerance, unlike
 * introspection's zero (endpoints/introspection.ts): a gateway whose clock
 * is behind ours still accepts a token for up to CLOCK_TOLERANCE_SECONDS
 * after its `exp`, so a token revoked in that window is still recorded (the
 * entry is kept that long anyway) rather than left honoured there. A JWT we signed that is not an access token (an ID-JAG, a host
 * invite) is `unsupported_token_type` (§2.2.1), expired or not: §2.2.1 answers by the token's type, and
 * neither type is ever revoked here, so an expired one is no §2.2 invalid token of a type we revoke. No grant issues refresh
 * tokens, so there are none to revoke; one presented is an unknown token.
 */
export async function revocationEndpoint(c: TokenContext): Promise<Response> {
  const spends = new RequestSpends(c.env);
  try {
    // A browser client's tokens are the authn Worker's to revoke (oidc/browser-revocation.ts).
    const browser = await browserRevocation(c.env, c.req.raw);
    if (browser) return browser;
    const { client, presented } = await readManagementRequest(c.req.raw, c.env, spends);
    if (presented.kind === "other_type") {
      throw new OAuthError("unsupported_token_type", "only access tokens are revoked here");
    }
    if (presented.kind === "access_token") {
      const { claims } = presented;
      if (!mayManageToken(client, claims)) {
        throw new OAuthError("unauthorized_client", "the token was not issued to this client");
      }
      try {
        await recordTokenRevocation(
          c.env,
          {
            claims: revocableClaims(claims),
            expiresAt: claims.exp,
            byTokenClient: claims.client_id === client.clientId,
            reason: `rfc7009 by ${client.clientId}`,
          },
          { waitUntil: (promise) => c.executionCtx.waitUntil(promise) },
        );
      } catch (error) {
        console.error("token revocation not recorded", claims.jti, error);
        throw new OAuthError("temporarily_unavailable", "the revocation could not be recorded; retry");
      }
    }
    return new Response(null, { status: 200, headers: NO_STORE_HEADERS });
  } catch (error) {
    const response = managementErrorResponse(error, "a revocation request");
    await spends.settle(response.status);
    // RFC 7009 §2.2.1: a 503 may say when to retry.
    if (response.status === 503) response.headers.set("Retry-After", "1");
    return response;
  }
}
