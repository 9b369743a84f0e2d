import { env, exports } from "cloudflare:workers";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import type { OidcGrantsRpc } from "../../shared/contracts/oidc-grants.ts";
import { oidcDriver } from "../support/runtime/browser-oidc.ts";
import { tokenService } from "../../workers/authn/src/config.ts";
import { ORIGIN } from "./helpers.ts";

export { pkce, REDIRECT_URI, type TokenResponse } from "../support/runtime/browser-oidc.ts";
export const ISSUER = ORIGIN;

/**
 * A token request as the token Worker hands it over: through the authn
 * Worker's OidcGrants RPC entrypoint (Better Auth's own token path is closed
 * to the internet). The token endpoint's own tests go through ENDPOINT.token
 * (test/token/oidc-token-endpoint.test.ts).
 */
async function viaOidcGrants(request: Request): Promise<Response> {
  const grants = (exports as unknown as { OidcGrants: OidcGrantsRpc }).OidcGrants;
  const answer = await grants.grant({
    form: await request.text(),
    authorization: request.headers.get("Authorization") ?? undefined,
    clientAddress: request.headers.get("cf-connecting-ip") ?? undefined,
  });
  return new Response(answer.body, { status: answer.status, headers: { "Content-Type": "application/json" } });
}

/** The authn Worker under test. */
export const oidc = oidcDriver({
  issuer: env.ISSUER,
  apiAudience: env.API_AUDIENCE,
  db: env.DB,
  authn: (request) => exports.default.fetch(request),
  tokenEndpoint: `${ORIGIN}${OIDC_ENDPOINT.token}`,
  token: viaOidcGrants,
  jwks: () => tokenService(env).jwks(),
});
