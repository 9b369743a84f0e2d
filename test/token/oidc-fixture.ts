import { env, exports } from "cloudflare:workers";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import type { TokenServiceRpc } from "../../shared/contracts/token-service.ts";
import { type Client, oidcDriver } from "../support/runtime/browser-oidc.ts";
import { basicAuthorization } from "./clients-fixtures.ts";
import { managementRequest } from "./revocation-fixtures.ts";

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

/**
 * RFC 7662 introspection as a browser client asks (revocation-fixtures.ts's
 * managementRequest): a form POST, the client authenticated by HTTP Basic
 * (its registered client_secret_basic; none without a client), any other
 * headers on top.
 */
export function introspection(fields: Record<string, string>, client?: Client, headers: Record<string, string> = {}) {
  return managementRequest(ENDPOINT.introspection, fields, { headers: { ...basic(client), ...headers } });
}

/** RFC 7009 revocation as a browser client asks, with any hint or none: a form POST with its client_secret_basic. */
export function revocation(fields: Record<string, string>, client: Client) {
  return managementRequest(ENDPOINT.revocation, fields, { headers: basic(client) });
}

function basic(client: Client | undefined): Record<string, string> {
  return client ? { Authorization: basicAuthorization(client.clientId, client.clientSecret) } : {};
}

/** The owner deletes their org through Better Auth, as the account pages do. */
export function deleteOrg(cookie: string, organizationId: string) {
  const origin = new URL(ISSUER).origin;
  return (env as unknown as { AUTHN_PAGES: Fetcher }).AUTHN_PAGES.fetch(
    new Request(`${origin}/api/auth/organization/delete`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Cookie: cookie, Origin: origin },
      body: JSON.stringify({ organizationId }),
    }),
  );
}
