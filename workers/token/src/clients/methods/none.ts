import { FIRST_PARTY_CLIENT_ID } from "../../../../../shared/contracts/tokens.ts";
import { OAuthError } from "../../../../../shared/errors/oauth.ts";
import { findClient } from "../registry.ts";
import type { ClientAuthenticator } from "../types.ts";

/**
 * `none` (RFC 7591 §2): a public client names itself with `client_id`
 * (RFC 6749 §3.2.1) and proves nothing. Only clients registered as public
 * pass; a confidential client that sends no credential is refused, never
 * treated as public. A request that names no client at all is the
 * first-party client's (RFC 8693 §2.1 leaves client authentication for a
 * token exchange to the authorization server).
 */
export const publicClient: ClientAuthenticator = {
  method: "none",
  async authenticate({ params }, context) {
    const clientId = params.get("client_id") ?? FIRST_PARTY_CLIENT_ID;
    const client = await findClient(clientId, context);
    if (!client || client.authMethod !== "none") {
      throw new OAuthError("invalid_client", "unknown client, or the client must authenticate");
    }
    return { clientId: client.clientId, type: client.type, method: "none" };
  },
};
