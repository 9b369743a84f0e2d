import type { BetterAuthOptions } from "better-auth";
import { APIError } from "better-auth/api";

/** Better Auth's error code (and the callback's `?error=`) for an address outside the provider's domain. */
export const SSO_EMAIL_OUTSIDE_PROVIDER_DOMAIN = "SSO_EMAIL_OUTSIDE_PROVIDER_DOMAIN";

/**
 * Whether an address is in one of the provider's domains (its `domain`,
 * comma-separated as @better-auth/sso stores it), or a subdomain of one, as
 * the plugin itself matches a provider to an address.
 */
export function emailInProviderDomain(email: string, domains: string): boolean {
  const host = email.split("@")[1]?.trim().toLowerCase();
  if (!host) return false;
  return domains
    .split(",")
    .map((domain) => domain.trim().toLowerCase())
    .filter(Boolean)
    .some((domain) => host === domain || host.endsWith(`.${domain}`));
}

type UserCreateBefore = NonNullable<
  NonNullable<NonNullable<NonNullable<BetterAuthOptions["databaseHooks"]>["user"]>["create"]>["before"]
>;

/**
 * A provider's IdP is run by the organization that registered it, and its
 * domain verification proves only that domain: an account it creates just in
 * time must have an address there. Otherwise an org admin's IdP could mint
 * members claiming anyone's address (unverified, but theirs to show). An
 * existing account is never linked to such an identity anyway (the plugin
 * trusts a provider only for its verified domain; auth/plugins/social.ts).
 */
export const userInProviderDomain: UserCreateBefore = async (user, context) => {
  const providerId = context?.params?.providerId;
  if (!context?.path?.startsWith("/sso/callback") || typeof providerId !== "string") return;
  const provider = await context.context.adapter.findOne<{ domain: string }>({
    model: "ssoProvider",
    where: [{ field: "providerId", value: providerId }],
  });
  if (!provider || !emailInProviderDomain(user.email, provider.domain)) {
    throw new APIError("FORBIDDEN", {
      code: SSO_EMAIL_OUTSIDE_PROVIDER_DOMAIN,
      message: "the identity provider asserted an address outside its verified domain",
    });
  }
};
