import { sso } from "@better-auth/sso";

/**
 * Per-organization OIDC single sign-on. A provider's email domain must be
 * verified (a DNS TXT record) before it signs anyone in, so one org cannot
 * claim another's users.
 */
export function ssoPlugin() {
  return sso({
    domainVerification: { enabled: true },
  });
}
