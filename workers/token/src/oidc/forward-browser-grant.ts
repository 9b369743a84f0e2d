import { OIDC_ENDPOINT, OIDC_GRANT_TYPE } from "../../../../shared/contracts/oidc.ts";
import {
  NO_STORE_HEADERS,
  OAuthError,
  type OAuthErrorCode,
  oauthErrorResponse,
} from "../../../../shared/errors/oauth.ts";
import type { TokenConfig } from "../config.ts";

/** Grants of the browser OpenID provider (the authn Worker's Better Auth `oauth-provider`). */
export const BROWSER_GRANT_TYPES: readonly string[] = [OIDC_GRANT_TYPE.authorizationCode, OIDC_GRANT_TYPE.refreshToken];

export function isBrowserGrant(grantType: string): boolean {
  return BROWSER_GRANT_TYPES.includes(grantType);
}

/**
 * The one issuer has one token endpoint (RFC 8414 §2 `token_endpoint`), but
 * the browser provider's codes, PKCE verifiers, consents and refresh-token
 * families live in the authn Worker. Its grants are handed to it over the
 * AUTHN service binding with the client's own credentials (Authorization,
 * DPoP) and the form as read here; it authenticates the client, redeems the
 * code or rotates the refresh token, and the token Worker signs the result
 * (oidc/sign-browser-token.ts, which audits each access token). A success
 * is passed on; a refusal is thrown as the OAuthError it amounts to, so the
 * endpoint answers and audits it like any other grant's (endpoints/token.ts).
 */
export async function forwardBrowserGrant(
  env: Pick<TokenEnv, "AUTHN">,
  config: Pick<TokenConfig, "issuer">,
  request: Request,
  params: ReadonlyMap<string, string>,
): Promise<Response> {
  const headers = new Headers();
  for (const name of ["Authorization", "DPoP", "Accept", "cf-connecting-ip"]) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  headers.set("Content-Type", "application/x-www-form-urlencoded");
  const forwarded = new Request(`${config.issuer}${OIDC_ENDPOINT.token}`, {
    method: "POST",
    headers,
    body: new URLSearchParams([...params]).toString(),
  });
  const answer = await env.AUTHN.fetch(forwarded);
  if (answer.ok) {
    const headers = new Headers(answer.headers);
    for (const [name, value] of Object.entries(NO_STORE_HEADERS)) headers.set(name, value);
    return new Response(answer.body, { status: answer.status, headers });
  }
  throw await restatedError(answer);
}

const KNOWN_CODES: ReadonlySet<string> = new Set<OAuthErrorCode>([
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "unauthorized_client",
  "unsupported_grant_type",
  "invalid_scope",
  "invalid_target",
  "invalid_dpop_proof",
  "use_dpop_nonce",
]);

/**
 * Better Auth's refusal, in our terms. RFC 7636 §4.6: a `code_verifier` that
 * does not match the challenge is `invalid_grant` (Better Auth says
 * `invalid_request` with a 401); anything we cannot read is our fault.
 */
async function restatedError(answer: Response): Promise<OAuthError> {
  const body = (await answer.json().catch(() => ({}))) as { error?: unknown; error_description?: unknown };
  const description = typeof body.error_description === "string" ? body.error_description : "refused";
  if (description === "code verification failed") return new OAuthError("invalid_grant", description);
  if (typeof body.error === "string" && KNOWN_CODES.has(body.error)) {
    return new OAuthError(body.error as OAuthErrorCode, description);
  }
  console.error("browser grant failed", answer.status, body.error);
  return new OAuthError("server_error", "internal error");
}
