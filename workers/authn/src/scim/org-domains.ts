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
export const CURRENT_ADDRESS_NOT_THE_ORGS =
  "the account's current email address is not in a verified domain of this organization: the directory cannot change it";

async function verifiedDomains(db: DrizzleD1Database, orgId: string): Promise<string[]> {
  const providers = await db
    .select({ domain: ssoProvider.domain })
    .from(ssoProvider)
    .where(and(eq(ssoProvider.organizationId, orgId), eq(ssoProvider.domainVerified, true)))
    .all();
  return providers.map((provider) => provider.domain);
}

/** Or 400 `invalidValue` (RFC 7644 §3.12: the value is not one this server accepts for the attribute). */
export async function requireOrgDomain(db: DrizzleD1Database, orgId: string, email: string): Promise<void> {
  const domains = await verifiedDomains(db, orgId);
  if (!domains.some((domain) => emailInProviderDomain(email, domain))) {
    throw new ScimError("invalidValue", OUTSIDE_ORG_DOMAINS);
  }
}

/**
 * A new address by PUT/PATCH: the new one must be the org's, and so must the
 * one it replaces. An account under an address outside the org's domains
 * (provisioned before directories were held to them, or moved by its person
 * to their own address on the account page) is its person's: renamed into
 * the org's domain, it was stored unconfirmed, and a reset from the org's
 * own mailbox then cleared the person's factors (security/unproven-account-reset.ts)
 * and handed the account, with its other orgs, to the directory. Or 400
 * `invalidValue` for the new address, `mutability` for the current one
 * (RFC 7644 §3.12: not compatible with the attribute's current state).
 */
export async function requireOrgRename(db: DrizzleD1Database, orgId: string, from: string, to: string): Promise<void> {
  const domains = await verifiedDomains(db, orgId);
  if (!domains.some((domain) => emailInProviderDomain(to, domain))) {
    throw new ScimError("invalidValue", OUTSIDE_ORG_DOMAINS);
  }
  if (!domains.some((domain) => emailInProviderDomain(from, domain))) {
    throw new ScimError("mutability", CURRENT_ADDRESS_NOT_THE_ORGS);
  }
}
