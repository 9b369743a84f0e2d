import { parseAccessTokenAuthorization } from "better-auth/oauth2";
import type { MiddlewareHandler } from "hono";
import { REALM } from "../../../../shared/contracts/endpoints.ts";
import { userinfoAudience } from "../../../../shared/contracts/oidc.ts";
import type { RevocableClaims } from "../../../../shared/contracts/revocation.ts";
import { orgStateName } from "../../../../shared/contracts/storage-keys.ts";
import { bearerErrorResponse } from "../../../../shared/errors/bearer.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { COMPACT_JWS } from "../../../../shared/jwt/compact-jws.ts";
import { TokenVerificationError } from "../../../../shared/jwt/errors.ts";
import { verifyAccessToken } from "../../../../shared/jwt/verify-access-token.ts";
import { revocableClaims } from "../../../../shared/revocation/revocable-claims.ts";
import { authnConfig, tokenService } from "../config.ts";
import { ISSUER_KEYS } from "./issuer-keys.ts";
import { storedTokenForm } from "./stored-token.ts";

type UserinfoContext = { Bindings: AuthnEnv; Variables: { body: Uint8Array<ArrayBuffer> } };

export interface Presented {
  token: string;
  /** RFC 9449 §7.1: a token sent with the DPoP scheme is answered with a DPoP challenge. */
  scheme: "Bearer" | "DPoP";
}

/**
 * Better Auth's userinfo (OIDC Core §5.3) checks a JWT access token's
 * signature, issuer and audience and that its session row still exists, an
 * opaque one against its D1 row; neither asks the org's Durable Object, so a
 * token whose subject, client or org was cut off there (an operator's
 * revoke, a member removed, a client disabled) kept reading the person's
 * claims until it expired, while the gateway and introspection refused it.
 * Before Better Auth answers, every token the request presents (the
 * Authorization header as Better Auth parses it, and a POST body's
 * `access_token`, RFC 6750 §2.2) is checked here: a JWT verified as every
 * verifier of ours does (alg, `typ` at+jwt, `iss`, the userinfo audience,
 * lifetime and claim shapes: shared/jwt/verify-access-token.ts), an opaque
 * one read from the provider's table for its person, client, org and
 * session; then the org's object is asked, every time (OrgState.isRevoked,
 * as the token Worker's introspection does). A refusal is RFC 6750 §3.1
 * `401 invalid_token` with its `WWW-Authenticate` challenge; revocation
 * state that cannot be read, or claims the object refuses to judge, is
 * `503 temporarily_unavailable` (fail closed). An opaque token of no org
 * has no revocation state to ask: `401 invalid_token` (opaqueTokenClaims).
 * A form that repeats `access_token` is `400 invalid_request` (presentedTokens).
 * A token that passes goes on to Better Auth, which still applies its own
 * checks (session row, scope `openid`, DPoP binding).
 */
export const refuseRevokedUserinfoToken: MiddlewareHandler<UserinfoContext> = async (c, next) => {
  const presented = presentedTokens(c.req.raw, c.var.body);
  if (presented === "repeated") {
    // RFC 6750 §3.1 invalid_request: the request "repeats the same parameter".
    return bearerErrorResponse({
      realm: REALM,
      error: "invalid_request",
      description: "access_token must not be repeated",
    });
  }
  for (const token of presented) {
    const refusal = await refusalFor(c.env, token);
    if (refusal) return refusal;
  }
  return next();
};

async function refusalFor(env: AuthnEnv, presented: Presented): Promise<Response | undefined> {
  let claims: RevocableClaims | undefined;
  if (COMPACT_JWS.test(presented.token)) {
    const { issuer } = authnConfig(env);
    try {
      const verified = await verifyAccessToken(presented.token, {
        issuer,
        audience: userinfoAudience(issuer),
        resolveKey: ISSUER_KEYS.resolver(tokenService(env)),
      });
      // Only what a revocation can match crosses to the object, as from the token Worker.
      claims = revocableClaims(verified);
    } catch (error) {
      if (!(error instanceof TokenVerificationError)) throw error;
      return invalidToken(presented, error);
    }
  } else {
    const opaque = await opaqueTokenClaims(env.DB, presented.token);
    // Unknown to the table: Better Auth refuses it itself (401 invalid_token).
    if (opaque === "unknown") return undefined;
    if (opaque === "no_org") return invalidToken(presented, new TokenVerificationError("ERR_TOKEN_CLAIM_MISSING"));
    claims = opaque;
  }
  let revoked: boolean;
  try {
    revoked = await env.ORG_STATE.getByName(orgStateName(claims.org_id)).isRevoked(claims);
  } catch (error) {
    console.error("revocation state unavailable", error);
    return httpErrorResponse("temporarily_unavailable", "revocation state unavailable, retry");
  }
  return revoked ? invalidToken(presented, new TokenVerificationError("ERR_TOKEN_REVOKED")) : undefined;
}

function invalidToken(presented: Presented, error: TokenVerificationError): Response {
  return bearerErrorResponse({
    scheme: presented.scheme,
    realm: REALM,
    error: "invalid_token",
    description: error.publicDescription,
  });
}

/**
 * Every token Better Auth's userinfo could read from the request: the
 * Authorization header through Better Auth's own parser (so a header it
 * takes without a scheme is checked too), and `access_token` of a POST
 * body read as JSON and as a form alike, whatever its Content-Type says.
 *
 * `repeated` for a form with `access_token` more than once: Better Auth
 * (better-call's form reader) keeps the last value, so checking only the
 * first let `access_token=x&access_token=<revoked>` read the person's
 * claims with a revoked token.
 */
export function presentedTokens(request: Request, body: Uint8Array): Presented[] | "repeated" {
  const found: Presented[] = [];
  const header = parseAccessTokenAuthorization(request.headers.get("Authorization"));
  if (header?.token) found.push({ token: header.token, scheme: header.scheme === "DPoP" ? "DPoP" : "Bearer" });
  if (request.method === "POST" && body.length > 0) {
    const text = new TextDecoder().decode(body);
    const formTokens = new URLSearchParams(text).getAll("access_token");
    if (formTokens.length > 1) return "repeated";
    for (const token of [jsonAccessToken(text), formTokens[0]]) {
      if (token && !found.some((seen) => seen.token === token)) found.push({ token, scheme: "Bearer" });
    }
  }
  return found;
}

function jsonAccessToken(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return undefined;
    const token = (value as Record<string, unknown>).access_token;
    return typeof token === "string" ? token : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An opaque access token's revocable facts, from the provider's table (it
 * stores the base64url SHA-256 of the token, Better Auth's default
 * `storeTokens: "hashed"`): the row id stands for the `jti` (RFC 7009 on an
 * opaque token deletes the row), the org is the grant's reference (the
 * active org at consent, auth/plugins/oauth-provider.ts), `iat` its
 * creation. `unknown` when no row holds it.
 *
 * `no_org` for a row without a person or an org (the person had no active
 * org when they consented): no org's object holds anything that could
 * refuse it (a subject, session or client cut-off is always recorded in an
 * org), so a ban, a sign-out or an operator's revocation would never reach
 * it, and it would read the person's claims until it expired. Refused as a
 * token that lacks a claim (RFC 6750 §3.1 `invalid_token`), as the JWT
 * path refuses one without `org_id` (a JWT access token is never issued
 * without one: oidc/org-claim.ts).
 */
async function opaqueTokenClaims(db: D1Database, token: string): Promise<RevocableClaims | "unknown" | "no_org"> {
  const stored = await storedTokenForm(token);
  const row = await db
    .prepare(
      "SELECT id, user_id, client_id, reference_id, session_id, created_at FROM oidc_access_token WHERE token = ?1",
    )
    .bind(stored)
    .first<{
      id: string;
      user_id: string | null;
      client_id: string;
      reference_id: string | null;
      session_id: string | null;
      created_at: number;
    }>();
  if (!row) return "unknown";
  if (!row.user_id || !row.reference_id) return "no_org";
  return {
    jti: row.id,
    sub: row.user_id,
    client_id: row.client_id,
    org_id: row.reference_id,
    iat: Math.floor(row.created_at / 1000),
    ...(row.session_id ? { sid: row.session_id } : {}),
  };
}
