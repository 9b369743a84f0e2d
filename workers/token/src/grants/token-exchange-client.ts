import { OAuthError } from "../../../../shared/errors/oauth.ts";
import type { AuthenticatedClient, ClientRegistration } from "../clients/types.ts";

/** A registered client of one org, allowed the grant at hand. */
export interface OrgClient {
  clientId: string;
  orgId: string;
  registration: ClientRegistration;
}

/**
 * RFC 6749 §5.2 `unauthorized_client`: "the authenticated client is not
 * authorized to use this authorization grant type". Token exchange and
 * jwt-bearer are for registered (confidential) clients of an org that list
 * the grant: the first-party public client, a platform operator client (no
 * org: it acts for nobody) and a client registered without the grant are
 * refused before any token they send is looked at. The ID-JAG draft (§9.1)
 * asks for confidential clients only, too.
 */
export function requireOrgClient(client: AuthenticatedClient, grantType: string): OrgClient {
  const registration = client.registration;
  if (!registration || client.type !== "confidential" || registration.orgId === null) {
    throw new OAuthError("unauthorized_client", "this client may not use this grant type");
  }
  if (!registration.grantTypes.includes(grantType)) {
    throw new OAuthError("unauthorized_client", "this client is not registered for this grant type");
  }
  return { clientId: client.clientId, orgId: registration.orgId, registration };
}
