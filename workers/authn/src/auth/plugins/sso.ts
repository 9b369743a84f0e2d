import { sso } from "@better-auth/sso";
import type { BetterAuthPlugin } from "better-auth";
import { requireOrganizationOnRegister } from "../../sso/provider-registration.ts";

/**
 * Per-organization OIDC single sign-on (SAML is not offered).
 *
 * - Registration: only an owner or admin of the organization the provider
 *   belongs to (sso/provider-registration.ts; GHSA-gv74-j8m3-fg5f). The
 *   provider's endpoints must be publicly routable or one of the trusted
 *   origins, checked at registration and again before every server-side
 *   fetch (the plugin's own guard since 1.6.11, GHSA-5rr4-8452-hf4v): an
 *   internal IdP is allowed only by naming its origin in TRUSTED_ORIGINS.
 * - Domain verification: a provider signs nobody in until its email domain
 *   is proven by a DNS TXT record (`/sso/request-domain-verification`, then
 *   `/sso/verify-domain`), so one org cannot claim another's people.
 * - Just-in-time membership: a person signing in through the provider
 *   becomes a `member` of its organization, never more; roles are raised by
 *   the org's admins.
 * - The provider's `email_verified` claim is not trusted
 *   (`trustEmailVerified` off): an existing account is linked only through
 *   a verified-domain provider for an address in that domain.
 */
export function ssoPlugin() {
  const plugin = sso({
    domainVerification: { enabled: true },
    organizationProvisioning: { defaultRole: "member" },
    trustEmailVerified: false,
  });
  const own = (plugin as BetterAuthPlugin).hooks;
  return {
    ...plugin,
    hooks: { before: [...(own?.before ?? []), requireOrganizationOnRegister], after: own?.after ?? [] },
  };
}
