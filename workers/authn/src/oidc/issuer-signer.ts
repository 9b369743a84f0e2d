import type { BrowserTokenSigningRequest } from "../../../../shared/contracts/token-service.ts";
import { JWT_TYP } from "../../../../shared/contracts/tokens.ts";
import type { IssuerSign } from "../auth/plugins/oauth-provider.ts";
import { tokenService } from "../config.ts";
import type { JWTPayload } from "jose";
import { grantIdOfRequest } from "./browser-grant.ts";
import { grantStartOf, stampedAtGrantStart } from "./grant-start.ts";
import { tryGetCurrentAuthEndpointContext } from "@better-auth/core/context";

/**
 * Signs the browser provider's tokens with the token Worker's current key
 * (TokenServiceRpc.signBrowserToken), so ID tokens and access tokens verify
 * against ENDPOINT.jwks like every other token of the issuer (DESIGN.md "One
 * issuer") and Better Auth's own `jwks` table never holds a key.
 *
 * Better Auth asks for an access token with `typ: at+jwt`, for an ID token
 * with no header and for a back-channel Logout Token with `typ: logout+jwt`;
 * anything else it might sign (the jwt plugin's session JWT) is not a token
 * this issuer hands out, so it is refused here and never reaches the signer.
 * `db` is where an access token's grant is read (oidc/browser-grant.ts): the
 * issuer signs no browser access token without its `grant_id`, so a signer
 * built without it (the Logout Token sender's) signs none.
 */
export function issuerSigner(env: Pick<AuthnEnv, "TOKEN_SERVICE">, db?: D1Database): IssuerSign {
  return async (payload, header) => {
    const kind = kindOf(header);
    // Better Auth's endpoint context carries the request the grant was handed over with.
    const request = tryGetCurrentAuthEndpointContext()?.request;
    // The access token's `iat` is the grant's arrival, not this moment (oidc/grant-start.ts).
    const receivedAtMs = grantStartOf(request);
    let claims: JWTPayload =
      kind === "access_token" && receivedAtMs !== undefined
        ? stampedAtGrantStart({ ...payload }, receivedAtMs)
        : { ...payload };
    if (kind === "access_token" && db !== undefined) {
      // RFC 7009 §2.1: revoking the grant's refresh token cuts this token off (oidc/browser-grant.ts).
      const grantId = await grantIdOfRequest(db, request);
      if (grantId !== undefined) claims = { ...claims, grant_id: grantId };
    }
    const result = await tokenService(env).signBrowserToken({ kind, claims });
    if (!result.ok) throw new Error(`the issuer refused to sign a browser ${kind}: ${result.error}`);
    return result.token;
  };
}

function kindOf(header: { typ?: string; cty?: string } | undefined): BrowserTokenSigningRequest["kind"] {
  if (header?.typ === JWT_TYP.accessToken) return "access_token";
  if (header?.typ === JWT_TYP.logoutToken) return "logout_token";
  if (header === undefined || (header.typ === undefined && header.cty === undefined)) return "id_token";
  throw new Error(`no browser token has typ ${String(header.typ)}`);
}
