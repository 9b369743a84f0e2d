import type { AccessTokenClaims } from "../../../../shared/contracts/tokens.ts";
import { COMPACT_JWS } from "../../../../shared/jwt/compact-jws.ts";
import { tokenConfig } from "../config.ts";
import { MANAGEMENT_ENDPOINT_FORM, readTokenRequestForm } from "../http/read-form.ts";
import { readPresentedToken } from "../presented-tokens/read-presented-token.ts";
import { namedClient } from "./named-client.ts";
import { oidcGrants, restatedError } from "./forward-browser-grant.ts";
import { isBrowserClientId } from "./sign-browser-token.ts";

/**
 * What a browser client's introspection request (RFC 7662) comes to once
 * the client is authenticated: one of its refresh tokens, active, with its
 * §2.2 members; one of its JWT access tokens, verified, for the endpoint to
 * judge (expiry, the org's revocations) as it judges a machine client's; or
 * nothing it may learn about.
 */
export type BrowserIntrospection =
  | { kind: "refresh_token"; members: Record<string, unknown> }
  | { kind: "access_token"; claims: AccessTokenClaims }
  | { kind: "inactive" };

/**
 * ENDPOINT.introspection for a browser client (`oidc_…`, or an MCP client
 * named by its metadata document's https URL), as Keycloak and Okta let a
 * confidential relying party introspect the tokens issued to it. Undefined
 * for any other client: the machine path answers it.
 *
 * The request goes to the authn Worker first, over the OIDC_GRANTS
 * entrypoint (`introspect`), whatever the token: Better Auth holds the
 * client's secret hash and authenticates it as at revocation
 * (oidc/browser-revocation.ts: client_secret_basic or client_secret_post; a
 * public client proves nothing and is `401 invalid_client`, §2.1), and its
 * refresh tokens, which it judges there (workers/authn/src/oidc/
 * refresh-introspection.ts). The token is always looked up as a refresh
 * token (`token_type_hint` is the server's to ignore, §2.1), as at
 * revocation: Better Auth would otherwise verify a JWT against the issuer's
 * JWKS over the network, and read an opaque access token by rules that
 * know none of the org's revocations. A refusal is thrown as its OAuthError.
 *
 * Once the client is authenticated and the token is none of its live
 * refresh tokens, a JWT is read as the gateway reads it (our keys, pinned
 * alg, `typ` at+jwt, `iss`, an audience we serve: presented-tokens/
 * read-presented-token.ts) and is the client's only when its `client_id` is
 * this client (the signer puts `azp` equal to it, sign-browser-token.ts).
 * Another client's token, an ID token, a Logout Token, an opaque
 * userinfo-only access token or garbage is `{"active": false}` (§2.2, §4).
 */
export async function browserIntrospection(env: TokenEnv, request: Request): Promise<BrowserIntrospection | undefined> {
  const params = await readTokenRequestForm(request.clone(), MANAGEMENT_ENDPOINT_FORM);
  const clientId = namedClient(params, request.headers);
  if (!clientId || !isBrowserClientId(clientId)) return undefined;
  const form = new URLSearchParams([...params]);
  form.set("token_type_hint", "refresh_token");
  const optional = (name: string) => request.headers.get(name) ?? undefined;
  const answer = await oidcGrants(env).introspect({
    form: form.toString(),
    authorization: optional("Authorization"),
    clientAddress: optional("cf-connecting-ip"),
  });
  if (answer.status !== 200) throw restatedError(answer.body);
  const refresh = refreshTokenMembers(answer.body, clientId, tokenConfig(env).issuer);
  if (refresh) return { kind: "refresh_token", members: refresh };

  const token = params.get("token");
  if (token === undefined || !COMPACT_JWS.test(token)) return { kind: "inactive" };
  const presented = await readPresentedToken(token, { env, config: tokenConfig(env) });
  if (presented.kind !== "access_token" || presented.claims.client_id !== clientId) return { kind: "inactive" };
  return { kind: "access_token", claims: presented.claims };
}

/**
 * §2.2's members of an active refresh token, from the authn Worker's answer,
 * or undefined when it is not one (or not this client's, or past its `exp`:
 * Better Auth compares to the millisecond, §2.2 and RFC 7519 §4.1.4 end it
 * at `exp` itself, as for access tokens, endpoints/introspection.ts).
 * Only the members named here pass: the session id (`sid`) stays inside, as
 * the machine path keeps it. No `token_type`: §2.2 means an access token's
 * type (RFC 6749 §7.1), and a resource server must never take a refresh
 * token for a bearer token. `cnf` when it is bound to a DPoP key (RFC 9449 §5).
 */
function refreshTokenMembers(body: string, clientId: string, issuer: string): Record<string, unknown> | undefined {
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (answer?.active !== true || answer.client_id !== clientId) return undefined;
  const { sub, scope, exp, iat, org_id: orgId, cnf } = answer;
  if (typeof exp !== "number" || exp <= Math.floor(Date.now() / 1000)) return undefined;
  const jkt = typeof cnf === "object" && cnf !== null ? (cnf as Record<string, unknown>).jkt : undefined;
  return {
    active: true,
    iss: issuer,
    client_id: clientId,
    ...(typeof sub === "string" ? { sub } : {}),
    ...(typeof scope === "string" ? { scope } : {}),
    exp,
    ...(typeof iat === "number" ? { iat } : {}),
    ...(typeof orgId === "string" ? { org_id: orgId } : {}),
    ...(typeof jkt === "string" ? { cnf: { jkt } } : {}),
  };
}
