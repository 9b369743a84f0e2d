import { env, exports } from "cloudflare:workers";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { oidcDriver } from "../support/runtime/browser-oidc.ts";
import { tokenService } from "../../workers/authn/src/config.ts";
import { ORIGIN } from "./helpers.ts";

export { pkce, REDIRECT_URI, type TokenResponse } from "../support/runtime/browser-oidc.ts";
export const ISSUER = ORIGIN;

/**
 * The authn Worker under test, with Better Auth's own token endpoint: the
 * token Worker's ENDPOINT.token forwards there (its own tests,
 * test/token/oidc-token-endpoint.test.ts, go through it).
 */
export const oidc = oidcDriver({
  issuer: env.ISSUER,
  apiAudience: env.API_AUDIENCE,
  db: env.DB,
  authn: (request) => exports.default.fetch(request),
  tokenEndpoint: `${ORIGIN}${OIDC_ENDPOINT.token}`,
  token: (request) => exports.default.fetch(request),
  jwks: () => tokenService(env).jwks(),
});
