import type { BetterAuthOptions } from "better-auth";
import { APIError, getOAuthState } from "better-auth/api";

/** Better Auth's error code (and the callback's `?error=`) for an address outside the provider's domain. */
export const SSO_EMAIL_OUTSIDE_PROVIDER_DOMAIN = "SSO_EMAIL_OUTSIDE_PROVIDER_DOMAIN";

/**
 * Whether an address is in one of the provider's domains (its `domain`,
 * comma-separated as @better-auth/sso stores it), or a subdomain of one, as
 * the plugin itself matches a provider to an address.
 */
export function emailInProviderDomain(email: string, domains: string): boolean {
  // A mailbox's domain is what follows its only "@" (RFC 5321 §4.1.2): in
  // `x@acme.test@evil.test` the text after the first "@" is not where the
  // mail goes, and a space is no part of an address. Either is outside.
  const at = email.indexOf("@");
  if (at <= 0 || at !== email.lastIndexOf("@") || /\s/.test(email)) return false;
  const host = email.slice(at + 1).toLowerCase();
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
type HookContext = Parameters<UserCreateBefore>[1];

/** Where @better-auth/sso keeps, in the OAuth state's server-only part, the provider a sign-in was started with. */
const SSO_PROVIDER_STATE_KEY = "ssoProviderReference";

/** The provider named by the OAuth state this callback parsed (server-stored, not client-supplied), if any. */
async function providerInOAuthState(): Promise<string | undefined> {
  let state: Awaited<ReturnType<typeof getOAuthState>>;
  try {
    state = await getOAuthState();
  } catch {
    // Outside a request's state (no OAuth flow at all): nothing names a provider.
    return undefined;
  }
  const reference = state?.serverContext?.[SSO_PROVIDER_STATE_KEY];
  if (typeof reference !== "object" || reference === null) return undefined;
  const providerId = (reference as { providerId?: unknown }).providerId;
  return typeof providerId === "string" && providerId !== "" ? providerId : undefined;
}

/**
 * The provider whose IdP asserted this identity, found the way the plugin
 * finds it: the OIDC callbacks take it from the OAuth state (the shared
 * `/sso/callback` only from there; `/sso/callback/:providerId` checks the path
 * against it), the SAML ACS from its path. Two that disagree name no provider.
 */
export async function ssoProviderOf(context: NonNullable<HookContext>): Promise<string | undefined> {
  const fromState = await providerInOAuthState();
  const fromPath = typeof context.params?.providerId === "string" ? context.params.providerId : undefined;
  if (fromState !== undefined && fromPath !== undefined && fromState !== fromPath) return undefined;
  return fromState ?? fromPath;
}

/**
 * A provider's IdP is run by the organization that registered it, and its
 * domain verification proves only that domain: an account it creates just in
 * time must have an address there. Otherwise an org admin's IdP could mint
 * members claiming anyone's address (unverified, but theirs to show). An
 * existing account is never linked to such an identity anyway (the plugin
 * trusts a provider only for its verified domain; auth/plugins/social.ts).
 *
 * Every account the SSO plugin creates passes here, whichever of its paths
 * created it (`/sso/callback/:providerId`, the shared `/sso/callback`, the
 * SAML ACS), and fails closed: an account created on an `/sso/` path whose
 * provider cannot be determined is refused like one outside the domain.
 * Keying on the path's `:providerId` alone let the shared callback, which
 * has none, create anyone.
 */
export const userInProviderDomain: UserCreateBefore = async (user, context) => {
  if (!context?.path?.startsWith("/sso/")) return;
  const providerId = await ssoProviderOf(context);
  const provider =
    providerId === undefined
      ? null
      : await context.context.adapter.findOne<{ domain: string }>({
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
