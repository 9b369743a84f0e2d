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
 * authorized to use this authorization grant type". Every grant but the
 * session exchange is for registered (confidential) clients that list the
 * grant: the first-party public client and a client registered without the
 * grant are refused before anything it sent is looked at. Client credentials
 * needs it too (§4.4: "MUST only be used by confidential clients").
 */
export function requireRegisteredClient(client: AuthenticatedClient, grantType: string): ClientRegistration {
  const registration = client.registration;
  if (!registration || client.type !== "confidential") {
    throw new OAuthError("unauthorized_client", "this grant type is for registered confidential clients");
  }
  if (!registration.grantTypes.includes(grantType)) {
    throw new OAuthError("unauthorized_client", "this client is not registered for this grant type");
  }
  return registration;
}

/**
 * requireRegisteredClient, and the client belongs to an org: token exchange
 * and jwt-bearer act for a subject of the client's org, so a platform
 * operator client (no org: it acts for nobody) is refused too. The ID-JAG
 * draft (§9.1) asks for confidential clients only, as well.
 */
export function requireOrgClient(client: AuthenticatedClient, grantType: string): OrgClient {
  const registration = requireRegisteredClient(client, grantType);
  if (registration.orgId === null) {
    throw new OAuthError("unauthorized_client", "this client may not use this grant type");
  }
  return { clientId: client.clientId, orgId: registration.orgId, registration };
}
