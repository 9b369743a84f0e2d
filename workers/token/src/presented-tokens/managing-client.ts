import type { AccessTokenClaims } from "../../../../shared/contracts/tokens.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { authenticateClient, TOKEN_ENDPOINT_AUTH_METHODS } from "../clients/authenticate.ts";
import type { AuthenticatedClient, ClientAuthContext, ClientAuthMethod, ClientAuthRequest } from "../clients/types.ts";

/**
 * RFC 8414 §2 `revocation_endpoint_auth_methods_supported` and
 * `introspection_endpoint_auth_methods_supported`: the token endpoint's
 * methods that authenticate (authenticateManagingClient refuses `none`).
 */
export const MANAGING_CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = TOKEN_ENDPOINT_AUTH_METHODS.filter(
  (method) => method !== "none",
);

/**
 * The client calling the revocation (RFC 7009 §2.1) or introspection
 * (RFC 7662 §2.1) endpoint, authenticated like at the token endpoint
 * (clients/authenticate.ts). A public client is refused: it proves nothing,
 * so naming its client_id would let anyone revoke or read its tokens.
 */
export async function authenticateManagingClient(
  request: ClientAuthRequest,
  context: ClientAuthContext,
): Promise<AuthenticatedClient> {
  const client = await authenticateClient(request, context);
  if (client.method === "none") throw new OAuthError("invalid_client", "this endpoint requires client authentication");
  return client;
}

/**
 * Whether the client may revoke or introspect the token: it was issued to
 * it, or the client is a resource server (`oauth_client.resource_server`,
 * RFC 7662 §2.1's protected resource) of the token's org.
 */
export function mayManageToken(client: AuthenticatedClient, claims: AccessTokenClaims): boolean {
  if (claims.client_id === client.clientId) return true;
  const registration = client.registration;
  return registration?.resourceServer === true && registration.orgId !== null && registration.orgId === claims.org_id;
}
