import type { Context } from "hono";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { NO_STORE_HEADERS, OAuthError, oauthErrorResponse } from "../../../../shared/errors/oauth.ts";
import { getAuth } from "../auth/create-auth.ts";
import { authnConfig, tokenService } from "../config.ts";
import { isSameOriginPost } from "../security/same-origin.ts";
import { secondFactorSatisfied } from "../two-factor/second-factor.ts";
import { illFormedBody } from "../http/well-formed-body.ts";

type ExchangeContext = Context<{ Bindings: AuthnEnv; Variables: { body: Uint8Array<ArrayBuffer> } }>;

/**
 * POST /app/token: the first-party page's session exchange, done here on the
 * server (docs/endpoints.md, "Session exchange"). The browser proves the
 * session with its HttpOnly cookie and the request's same-origin `Origin`
 * (the CSRF proof: a cross-site page can make the browser send the cookie,
 * never our Origin); it never sees the raw session token, which only this
 * Worker reads from the signed cookie and hands to the token Worker over its
 * RPC entrypoint. The answer is the token Worker's RFC 6749 §5.1 / §5.2 body
 * and status, unchanged.
 *
 * Form body (application/x-www-form-urlencoded): `audience` (required),
 * `scope` (optional, RFC 6749 §3.3). Errors: `403 cross_origin_post` for a
 * cross-origin or Origin-less call (shared/errors/http.ts), RFC 6749 errors
 * otherwise: `invalid_request` for a malformed body, `invalid_grant` when
 * the cookie carries no live session or a session of a person with 2FA on
 * that has not passed it (two-factor/second-factor.ts), `temporarily_unavailable` when the
 * token Worker cannot be reached; and whatever the token Worker answers.
 */
export async function sessionTokenEndpoint(c: ExchangeContext): Promise<Response> {
  const config = authnConfig(c.env);
  if (!isSameOriginPost(c.req.raw, config.issuer)) {
    return httpErrorResponse("cross_origin_post", "the session exchange must come from this origin");
  }
  const params = formParams(c.req.raw.headers, c.var.body);
  if (typeof params === "string") return oauthErrorResponse(new OAuthError("invalid_request", params));
  const audience = params.get("audience");
  if (!audience) return oauthErrorResponse(new OAuthError("invalid_request", "audience is required"));

  // Never from the cookie cache: the session must still be in D1 (GHSA-xg6x-h9c9-2m83).
  const auth = getAuth(c.env);
  const session = await auth.api.getSession({ headers: c.req.raw.headers, query: { disableCookieCache: true } });
  if (!session) return oauthErrorResponse(new OAuthError("invalid_grant", "no live session"));
  if (!(await secondFactorSatisfied((await auth.$context).internalAdapter, session))) {
    return oauthErrorResponse(new OAuthError("invalid_grant", "the session has not passed its second factor"));
  }

  let result: Awaited<ReturnType<ReturnType<typeof tokenService>["exchangeSession"]>>;
  try {
    result = await tokenService(c.env).exchangeSession({
      sessionToken: session.session.token,
      audience,
      scope: params.get("scope"),
    });
  } catch (error) {
    console.error("token service unreachable", error);
    return oauthErrorResponse(new OAuthError("temporarily_unavailable", "the token service is unavailable"));
  }
  return new Response(JSON.stringify(result.body), {
    status: result.status,
    headers: { "Content-Type": "application/json", ...NO_STORE_HEADERS },
  });
}

/**
 * The form's parameters, each at most once (RFC 6749 §3.2: parameters must
 * not be included more than once), or why not.
 */
function formParams(headers: Headers, body: Uint8Array<ArrayBuffer>): Map<string, string> | string {
  const type = (headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") return "the body must be application/x-www-form-urlencoded";
  // Not a reason to read something else than was sent (http/well-formed-body.ts): invalid_request.
  const illFormed = illFormedBody(type ?? "", body);
  if (illFormed) return illFormed.reason;
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(new TextDecoder().decode(body))) {
    if (params.has(name)) return `${name} is repeated`;
    params.set(name, value);
  }
  return params;
}
