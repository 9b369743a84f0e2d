/**
 * An account the org's directory provisioned (SCIM) takes an outside
 * identity from one place only: an SSO provider of that same org whose
 * domain is verified and covers the account's address. That is how Okta,
 * Entra ID, Keycloak and Cloudflare Access land a provisioned person: the
 * directory creates them, the org's IdP signs them in, and the sign-in
 * finds the provisioned account with its membership.
 *
 * Better Auth's own rule links such a sign-in (the provider is trusted for
 * its verified domain, and the account's address is verified, because a
 * directory provisions only inside its org's verified domains:
 * scim/user-store.ts says why that counts as verified). The same rule would
 * also link another org's provider that verified a domain covering the
 * address, and any social identity whose provider verified the address: a
 * personal Google account someone once opened under the work address, kept
 * after they left, would land in whoever gets that address next, with that
 * person's org membership, and no reset would remove it (a confirmed
 * account's reset keeps its linked identities). So every other link to a
 * directory-managed account is refused here, `403
 * DIRECTORY_ACCOUNT_LINK_REFUSED` (on a callback, `?error=` of that code),
 * and nothing is written. The password (Better Auth's `credential` account,
 * set through a reset link that reached the address) is not an outside
 * identity and is not this rule's.
 */
import type { BetterAuthOptions } from "better-auth";
import { APIError } from "better-auth/api";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { scimUser, ssoProvider, user } from "../../../../shared/db/schema.ts";
import { emailInProviderDomain, ssoProviderOf } from "./provider-domain.ts";

/** Better Auth's error code (and the callback's `?error=`) for a link a directory-managed account does not take. */
export const DIRECTORY_ACCOUNT_LINK_REFUSED = "DIRECTORY_ACCOUNT_LINK_REFUSED";

/** Better Auth's own provider id for the email-and-password account. */
const CREDENTIAL_PROVIDER = "credential";

type AccountCreateBefore = NonNullable<
  NonNullable<NonNullable<NonNullable<BetterAuthOptions["databaseHooks"]>["account"]>["create"]>["before"]
>;

export function directoryAccountLinks(db: D1Database): AccountCreateBefore {
  return async (account, context) => {
    if (account.providerId === CREDENTIAL_PROVIDER) return;
    const orm = drizzle(db);
    const managed = await orm
      .select({ orgId: scimUser.orgId, email: user.email })
      .from(scimUser)
      .innerJoin(user, eq(user.id, scimUser.userId))
      .where(eq(scimUser.userId, account.userId))
      .all();
    if (managed.length === 0) return;
    // The provider the callback's OAuth state names (server-stored), as the
    // just-in-time domain check finds it; a social callback names none.
    const providerId = context?.path?.startsWith("/sso/") ? await ssoProviderOf(context) : undefined;
    const provider =
      providerId === undefined
        ? undefined
        : await orm
            .select({
              organizationId: ssoProvider.organizationId,
              domain: ssoProvider.domain,
              verified: ssoProvider.domainVerified,
            })
            .from(ssoProvider)
            .where(eq(ssoProvider.providerId, providerId))
            .get();
    const ownOrgsIdp =
      provider?.verified === true &&
      managed.some((row) => row.orgId === provider.organizationId && emailInProviderDomain(row.email, provider.domain));
    if (!ownOrgsIdp) {
      throw new APIError("FORBIDDEN", {
        code: DIRECTORY_ACCOUNT_LINK_REFUSED,
        message: "an account the organization's directory manages signs in only through that organization's SSO",
      });
    }
  };
}
