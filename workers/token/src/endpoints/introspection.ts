import type { Context } from "hono";
import { ACCESS_TOKEN_TYPE, type AccessTokenClaims } from "../../../../shared/contracts/tokens.ts";
import { NO_STORE_HEADERS, OAuthError } from "../../../../shared/errors/oauth.ts";
import { browserIntrospection } from "../oidc/browser-introspection.ts";
import { mayManageToken } from "../presented-tokens/managing-client.ts";
import { managementErrorResponse, readManagementRequest } from "../presented-tokens/management-request.ts";
import { RequestSpends } from "../replay/request-spends.ts";
import { RevocationReader } from "../revocation/revocation-reader.ts";

type TokenContext = Context<{ Bindings: TokenEnv }>;

/**
 * POST ENDPOINT.introspection (RFC 7662). Only authenticated clients may ask
 * (§2.1), and only about tokens issued to them, unless they are a resource
 * server of the token's org. Anything revoked (the org's Durable Object is
 * read every time), expired, signed by a retired key, unknown, not an access
 * token or not the caller's is `{ "active": false }` and nothing else
 * (§2.2, §4: no hint of why). `token_type_hint` is ignored (§2.1 lets the
 * server search every type; we have one).
 *
 * A browser OpenID client (confidential, `oidc_…`) asks about its own
 * refresh and JWT access tokens (oidc/browser-introspection.ts); a JWT
 * access token of its own is then judged here exactly as a machine
 * client's: no clock tolerance, the org's Durable Object (a sign-out is a
 * `session` revocation there, a disabled client a `client` one).
 */
export async function introspectionEndpoint(c: TokenContext): Promise<Response> {
  const spends = new RequestSpends(c.env);
  try {
    const browser = await browserIntrospection(c.env, c.req.raw);
    if (browser?.kind === "refresh_token") return introspectionResponse(browser.members);
    if (browser?.kind === "access_token") return introspectionResponse(await accessTokenMembers(c.env, browser.claims));
    if (browser) return introspectionResponse({ active: false });
    const { client, presented } = await readManagementRequest(c.req.raw, c.env, spends);
    if (presented.kind !== "access_token" || !mayManageToken(client, presented.claims)) {
      return introspectionResponse({ active: false });
    }
    return introspectionResponse(await accessTokenMembers(c.env, presented.claims));
  } catch (error) {
    // A 503 (revocation state unreadable) answered nothing: the assertion is given back for the retry.
    const response = managementErrorResponse(error, "an introspection request");
    await spends.settle(response.status);
    return response;
  }
}

/** §2.2's answer for an access token the caller may learn about: inactive once expired or revoked. */
async function accessTokenMembers(env: TokenEnv, claims: AccessTokenClaims): Promise<Record<string, unknown>> {
  if (isExpired(claims) || (await isRevokedNow(env, claims))) return { active: false };
  return activeMembers(claims);
}

/**
 * RFC 7662 §2.2: an expired token is inactive, and RFC 7519 §4.1.4 puts the
 * end at `exp` itself, so no clock tolerance here. The verification's
 * CLOCK_TOLERANCE_SECONDS is for a verifier that reads its own clock against
 * ours; the caller here asks this server's clock instead, and an answer of
 * `active` for a token past its `exp` would let a resource server accept it
 * for that much longer than it was issued for. Revocation keeps the
 * tolerance on purpose (endpoints/revocation.ts): a gateway whose clock is
 * behind still honours such a token for up to the tolerance, so revoking it
 * then must still record the jti, and recording it costs nothing.
 */
function isExpired(claims: AccessTokenClaims): boolean {
  return claims.exp <= Math.floor(Date.now() / 1000);
}

/**
 * Whether the token is revoked, from its org's Durable Object (read every
 * time: introspection must answer `active: false` the moment a revocation
 * is recorded). Without that state no answer can be vouched for: 503
 * `temporarily_unavailable`, for the caller to retry.
 */
async function isRevokedNow(env: TokenEnv, claims: AccessTokenClaims): Promise<boolean> {
  try {
    return await new RevocationReader(env.ORG_STATE).isRevoked(claims);
  } catch (error) {
    console.error("revocation state unavailable", error);
    throw new OAuthError("temporarily_unavailable", "revocation state unavailable, retry");
  }
}

/**
 * §2.2's members for an active token, with the token's own claims: `cnf`
 * (RFC 9449 §6.2) and `act` (RFC 8693 §2.2.1 / §4.1) when it has them, and
 * our `org_id` and `roles`. The session id stays inside.
 */
function activeMembers(claims: AccessTokenClaims): Record<string, unknown> {
  return {
    active: true,
    iss: claims.iss,
    sub: claims.sub,
    aud: claims.aud,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    client_id: claims.client_id,
    ...(claims.scope !== undefined ? { scope: claims.scope } : {}),
    token_type: claims.cnf ? ACCESS_TOKEN_TYPE.dpop : ACCESS_TOKEN_TYPE.bearer,
    org_id: claims.org_id,
    ...(claims.roles ? { roles: claims.roles } : {}),
    ...(claims.act ? { act: claims.act } : {}),
    ...(claims.cnf ? { cnf: { jkt: claims.cnf.jkt } } : {}),
  };
}

/** §2.2: JSON; it describes a credential, so it is never stored. */
function introspectionResponse(body: Record<string, unknown>): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { "Content-Type": "application/json", ...NO_STORE_HEADERS },
  });
}
