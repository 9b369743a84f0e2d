import { OIDC_ENDPOINT, OIDC_GRANT_TYPE } from "../../../../shared/contracts/oidc.ts";
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
 * (oidc/sign-browser-token.ts). Its answer, RFC 6749 §5.1 or §5.2, is passed on.
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
  return env.AUTHN.fetch(forwarded);
}
