import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { findClient } from "./registry.ts";
import { registrationOf } from "./stored-client.ts";
import type { AuthenticatedClient, ClientAuthContext, ConfidentialAuthMethod, StoredClient } from "./types.ts";

/**
 * One description for every failure before the credential is proven (an
 * unknown client, another method registered, a wrong secret or key), so a
 * caller cannot tell which client ids exist (RFC 6749 §5.2 `invalid_client`).
 */
export const AUTHENTICATION_FAILED = "client authentication failed";

/** The stored client registered for `method`, or invalid_client. */
export async function findConfidentialClient(
  clientId: string,
  method: ConfidentialAuthMethod,
  context: ClientAuthContext,
): Promise<StoredClient> {
  const client = await findClient(clientId, context);
  // RFC 7591 §2: a client registers one token_endpoint_auth_method and
  // authenticates with that one only; a secret never stands in for a key.
  if (!client?.stored || client.stored.authMethod !== method) {
    throw new OAuthError("invalid_client", AUTHENTICATION_FAILED);
  }
  return client.stored;
}

/**
 * The client once its credential is proven. Only an `active` client
 * authenticates, so no grant ever serves a disabled or pending one. Its
 * status is named only now, to a caller that holds its credential.
 */
export function authenticatedClient(client: StoredClient, method: ConfidentialAuthMethod): AuthenticatedClient {
  if (client.status !== "active") {
    throw new OAuthError(
      "invalid_client",
      client.status === "pending" ? "client awaits approval" : "client is disabled",
    );
  }
  return { clientId: client.clientId, type: "confidential", method, registration: registrationOf(client) };
}
