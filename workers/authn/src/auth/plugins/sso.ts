import { sso } from "@better-auth/sso";
import type { BetterAuthPlugin } from "better-auth";
import { userInProviderDomain } from "../../sso/provider-domain.ts";
import { guardProviderEndpoints, guardStoredEndpoints } from "../../sso/provider-endpoints.ts";
import {
  refuseClaimedDomain,
  refuseSamlConfig,
  requireOrganizationOnRegister,
  requirePkce,
} from "../../sso/provider-registration.ts";
import { SSO_UPSTREAM_TIMEOUT_MS, ssoUpstreamLimits } from "../../sso/upstream-fetch.ts";

/** What the running Worker sets (config.ts); the schema generator passes nothing. */
export interface SsoRuntime {
  /** The limit on each fetch to an org's IdP (ms). */
  upstreamTimeoutMs: number;
}

/**
 * Per-organization OIDC single sign-on. SAML is not offered: the plugin's
 * SAML endpoints (ACS, SLO, SP metadata) are not served and a provider with a
 * `samlConfig` is refused (sso/provider-registration.ts), so no SAML
 * response is ever parsed and no account is made from one.
 *
 * - Registration: only an owner or admin of the organization the provider
 *   belongs to (sso/provider-registration.ts; GHSA-gv74-j8m3-fg5f). The
 *   provider's endpoints must be publicly routable or one of the trusted
 *   origins, checked at registration and again before every server-side
 *   fetch (the plugin's own guard since 1.6.11, GHSA-5rr4-8452-hf4v): an
 *   internal IdP is allowed only by naming its origin in TRUSTED_ORIGINS.
 *   The project's own outbound guard runs too, at registration and update
 *   and again on the stored endpoints before the callback fetches them
 *   (sso/provider-endpoints.ts): the plugin's passes plain http,
 *   credentials, single-label and `.internal` names. Every fetch to the IdP
 *   (discovery, JWKS, token, userinfo) is cut off after the timeout and
 *   refused past SSO_UPSTREAM_MAX_BYTES, and an ID token without `exp` or
 *   with an impossible `iat` is refused (sso/upstream-fetch.ts): the plugin
 *   sets neither limit on the callback's fetches and jose, which verifies
 *   the ID token, requires neither claim.
 * - Domain verification: a provider signs nobody in until its email domain
 *   is proven by a DNS TXT record (`/sso/request-domain-verification`, then
 *   `/sso/verify-domain`), so one org cannot claim another's people; and it
 *   creates accounts only for addresses in that domain
 *   (sso/provider-domain.ts). A domain another org verified, or a name
 *   above or under it, is refused at registration and update
 *   (sso/provider-registration.ts).
 * - Just-in-time membership: a person signing in through the provider
 *   becomes a `member` of its organization, never more; roles are raised by
 *   the org's admins.
 * - The provider's `email_verified` claim is not trusted
 *   (`trustEmailVerified` off): an existing account is linked only through
 *   a verified-domain provider for an address in that domain, and only if
 *   the account's own address is verified (auth/plugins/social.ts); an
 *   account the org's directory provisioned, only through a provider of
 *   that same org (sso/directory-accounts.ts).
 * - PKCE is required (sso/provider-registration.ts): the plugin sends no
 *   `nonce`, so PKCE is what binds the IdP's code to the browser that
 *   started the sign-in (RFC 9700 §2.1.1).
 * - One callback per provider, `/sso/callback/<providerId>`: the URL the
 *   plugin registers every provider with while its `redirectURI` option is
 *   unset. The shared `/sso/callback` (provider taken from the OAuth state,
 *   for a deployment with one `redirectURI` for all) is not served, so an
 *   IdP cannot send its people down a second path (404).
 */
export function ssoPlugin(runtime?: SsoRuntime) {
  const plugin = sso({
    domainVerification: { enabled: true },
    organizationProvisioning: { defaultRole: "member" },
    trustEmailVerified: false,
  });
  const { hooks, init } = plugin as BetterAuthPlugin;
  const {
    callbackSSOShared: _shared,
    acsEndpoint: _acs,
    sloEndpoint: _slo,
    initiateSLO: _initiateSlo,
    spMetadata: _spMetadata,
    ...endpoints
  } = plugin.endpoints;
  return {
    ...plugin,
    endpoints,
    init: (ctx) => {
      const own = init?.(ctx);
      if (own instanceof Promise) throw new Error("@better-auth/sso's init is expected to be synchronous");
      return {
        ...own,
        options: { ...own?.options, databaseHooks: { user: { create: { before: userInProviderDomain } } } },
      };
    },
    hooks: {
      before: [
        ssoUpstreamLimits(runtime?.upstreamTimeoutMs ?? SSO_UPSTREAM_TIMEOUT_MS),
        ...(hooks?.before ?? []),
        requireOrganizationOnRegister,
        refuseSamlConfig,
        requirePkce,
        refuseClaimedDomain,
        guardProviderEndpoints,
        guardStoredEndpoints,
      ],
      after: hooks?.after ?? [],
    },
  } satisfies BetterAuthPlugin;
}
