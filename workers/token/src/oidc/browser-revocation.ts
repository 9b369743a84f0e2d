import { NO_STORE_HEADERS } from "../../../../shared/errors/oauth.ts";
import { MANAGEMENT_ENDPOINT_FORM, readTokenRequestForm } from "../http/read-form.ts";
import { oidcGrants, restatedError } from "./forward-browser-grant.ts";
import { isBrowserClientId } from "./sign-browser-token.ts";

/**
 * RFC 6749 §2.3.1: the client a request names, by HTTP Basic (form-encoded
 * id) or by `client_id`; only to route it, never to authenticate it.
 */
function namedClient(params: ReadonlyMap<string, string>, headers: Headers): string | undefined {
  const basic = headers.get("Authorization")?.match(/^Basic\s+([A-Za-z0-9+/=]+)$/i)?.[1];
  if (basic) {
    try {
      const decoded = atob(basic);
      const colon = decoded.indexOf(":");
      return decodeURIComponent((colon < 0 ? decoded : decoded.slice(0, colon)).replaceAll("+", " "));
    } catch {
      return undefined;
    }
  }
  return params.get("client_id");
}

/**
 * ENDPOINT.revocation (RFC 7009) for a browser client (`oidc_…`, or an MCP
 * client named by its metadata document's https URL): its
 * refresh tokens live in the authn Worker, so the request goes there over
 * the OIDC_GRANTS entrypoint, which authenticates the client and revokes
 * (§2.2: 200 also for a token that is unknown or already gone). Undefined for
 * any other client: the token Worker's own revocation handles it. A refusal
 * is thrown as its OAuthError for the endpoint to answer.
 */
export async function browserRevocation(
  env: Pick<TokenEnv, "OIDC_GRANTS">,
  request: Request,
): Promise<Response | undefined> {
  const params = await readTokenRequestForm(request.clone(), MANAGEMENT_ENDPOINT_FORM);
  const clientId = namedClient(params, request.headers);
  if (!clientId || !isBrowserClientId(clientId)) return undefined;
  const optional = (name: string) => request.headers.get(name) ?? undefined;
  const answer = await oidcGrants(env).revoke({
    form: new URLSearchParams([...params]).toString(),
    authorization: optional("Authorization"),
    clientAddress: optional("cf-connecting-ip"),
  });
  if (answer.status === 200) return new Response(null, { status: 200, headers: NO_STORE_HEADERS });
  throw restatedError(answer.body);
}
