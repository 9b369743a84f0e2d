/**
 * Which addresses an org's directory may speak for: those in a domain the org
 * has proven it holds, i.e. the verified domain of one of its SSO providers
 * (a DNS TXT record, docs/authn.md "Single sign-on"), or a subdomain of one.
 *
 * A SCIM token proves only that a caller is the org's directory, not that
 * the org owns the addresses it sends. Provisioning `victim@gmail.com` made
 * an account under someone else's address that the directory kept managing:
 * once its owner adopted it (password reset, then verification), the
 * directory could rename the address to one of its own and reset its way
 * in (pre-account hijacking, Sudhodanan & Paverd 2022). Okta, Entra ID and
 * Google Workspace bind provisioned identities to the tenant's verified
 * domains the same way.
 */
import { and, eq } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { ssoProvider } from "../../../../shared/db/schema.ts";
import { ScimError } from "../../../../shared/errors/scim.ts";
import { emailInProviderDomain } from "../sso/provider-domain.ts";

export const OUTSIDE_ORG_DOMAINS = "the email address is not in a verified domain of this organization";

/** Or 400 `invalidValue` (RFC 7644 §3.12: the value is not one this server accepts for the attribute). */
export async function requireOrgDomain(db: DrizzleD1Database, orgId: string, email: string): Promise<void> {
  const providers = await db
    .select({ domain: ssoProvider.domain })
    .from(ssoProvider)
    .where(and(eq(ssoProvider.organizationId, orgId), eq(ssoProvider.domainVerified, true)))
    .all();
  if (!providers.some((provider) => emailInProviderDomain(email, provider.domain))) {
    throw new ScimError("invalidValue", OUTSIDE_ORG_DOMAINS);
  }
}
