import { env, exports } from "cloudflare:workers";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import type { TokenServiceRpc } from "../../shared/contracts/token-service.ts";
import { oidcDriver } from "../support/runtime/browser-oidc.ts";

export const ISSUER = env.ISSUER;
/** The API audience: the first of ALLOWED_AUDIENCES. */
export const API = [...env.ALLOWED_AUDIENCES.split(" ")][0] as string;

/**
 * The browser OpenID flow as the token project's tests drive it: the token
 * Worker under test is the one token endpoint; the authn Worker beside it
 * holds the codes.
 */
export const oidc = oidcDriver({
  issuer: ISSUER,
  apiAudience: API,
  db: env.DB,
  // A test binding to the real authn Worker (vitest.config.ts): its pages, as a browser reaches them.
  authn: (request) => (env as unknown as { AUTHN_PAGES: Fetcher }).AUTHN_PAGES.fetch(request),
  tokenEndpoint: `${ISSUER}${ENDPOINT.token}`,
  token: (request) => exports.default.fetch(request),
  jwks: () => (exports as unknown as { TokenService: TokenServiceRpc }).TokenService.jwks(),
});
