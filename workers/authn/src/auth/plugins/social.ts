import { getEnvVar } from "@better-auth/core/env";
import type { BetterAuthOptions, BetterAuthPlugin } from "better-auth";
import { APIError } from "better-auth/api";

/**
 * Social sign-in (GitHub, Google, Microsoft), each off unless its client id
 * and secret are both configured:
 *
 * | provider  | vars (secrets)                                        | callback URL                          |
 * |-----------|-------------------------------------------------------|---------------------------------------|
 * | GitHub    | GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET                 | <issuer>/api/auth/callback/github     |
 * | Google    | GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET                 | <issuer>/api/auth/callback/google     |
 * | Microsoft | MICROSOFT_CLIENT_ID, MICROSOFT_CLIENT_SECRET, MICROSOFT_TENANT_ID (optional, default "common") | <issuer>/api/auth/callback/microsoft |
 *
 * The values are read when Better Auth starts (the Worker's env reaches
 * `process.env` under nodejs_compat); the schema generator sees none and
 * needs none, as social sign-in adds no tables.
 */
export type SocialProviderId = "github" | "google" | "microsoft";

export interface SocialProviderCredentials {
  clientId: string;
  clientSecret: string;
  tenantId?: string;
}

export type SocialProvidersConfig = Partial<Record<SocialProviderId, SocialProviderCredentials>>;

type ReadVar = (name: string) => string | undefined;

const PREFIX: Record<SocialProviderId, string> = { github: "GITHUB", google: "GOOGLE", microsoft: "MICROSOFT" };

/**
 * Which providers are on. One of a pair without the other is a deployment
 * mistake, refused loudly rather than leaving a provider half-configured.
 */
export function parseSocialProviders(read: ReadVar): SocialProvidersConfig {
  const config: SocialProvidersConfig = {};
  for (const id of Object.keys(PREFIX) as SocialProviderId[]) {
    const idVar = `${PREFIX[id]}_CLIENT_ID`;
    const secretVar = `${PREFIX[id]}_CLIENT_SECRET`;
    const clientId = read(idVar)?.trim();
    const clientSecret = read(secretVar)?.trim();
    if (!clientId && !clientSecret) continue;
    if (!clientId || !clientSecret) throw new Error(`${idVar} and ${secretVar} must be set together`);
    const tenantId = id === "microsoft" ? read("MICROSOFT_TENANT_ID")?.trim() || undefined : undefined;
    config[id] = tenantId ? { clientId, clientSecret, tenantId } : { clientId, clientSecret };
  }
  return config;
}

/**
 * How an outside identity (social or SSO) may join an existing account
 * (GHSA-g38m-r43w-p2q7, pre-account hijack through implicit linking): no
 * provider is trusted by name, so the provider must assert the address as
 * verified, and the local account's own address must be verified too: an
 * account someone registered with a victim's address and never confirmed is
 * never linked to the victim's provider identity. Linking only the same
 * address; the provider's profile never overwrites the account's.
 */
export const ACCOUNT_LINKING = {
  enabled: true,
  trustedProviders: [],
  requireLocalEmailVerified: true,
  allowDifferentEmails: false,
  updateUserInfoOnLink: false,
} satisfies NonNullable<NonNullable<BetterAuthOptions["account"]>["accountLinking"]>;

/** Better Auth's error code (and the callback's `?error=`) for a provider address its provider has not verified. */
export const SOCIAL_EMAIL_NOT_VERIFIED = "SOCIAL_EMAIL_NOT_VERIFIED";

type UserCreateBefore = NonNullable<
  NonNullable<NonNullable<NonNullable<BetterAuthOptions["databaseHooks"]>["user"]>["create"]>["before"]
>;

/** Where Better Auth creates an account from a social identity: the OAuth callback, and sign-in with an ID token. */
function isSocialSignIn(path: string | undefined): boolean {
  return path !== undefined && (path.startsWith("/callback/") || path === "/sign-in/social");
}

/**
 * No account is made from a social identity whose provider does not vouch
 * for the address (GitHub's unverified emails; Microsoft's `email`, which
 * any Entra tenant sets at will unless `email_verified` or
 * `verified_primary_email` says otherwise — "nOAuth"). Otherwise whoever
 * controls such an identity creates an account under someone else's
 * address, holds a session in it, and is there first when the owner
 * arrives (pre-account hijacking, the "non-verifying IdP" attack). Better
 * Auth's callback answers the refusal with `?error=SOCIAL_EMAIL_NOT_VERIFIED`
 * and writes nothing. SSO accounts are checked against the provider's
 * verified domain instead (sso/provider-domain.ts).
 */
export const verifiedSocialAddress: UserCreateBefore = async (user, context) => {
  if (!isSocialSignIn(context?.path) || user.emailVerified === true) return;
  throw new APIError("FORBIDDEN", {
    code: SOCIAL_EMAIL_NOT_VERIFIED,
    message: "the sign-in provider has not verified this email address",
  });
};

/**
 * Better Auth builds its social providers from `socialProviders` before any
 * plugin starts, so the configured ones are passed as options here and also
 * added to the running context the same way Better Auth builds them.
 */
export function socialSignInPlugin(read: ReadVar = (name) => getEnvVar(name)) {
  return {
    id: "social-sign-in",
    async init(ctx) {
      const config = parseSocialProviders(read);
      const { socialProviders } = await import("@better-auth/core/social-providers");
      const built = (Object.keys(config) as SocialProviderId[]).map((id) => {
        const credentials = config[id] as SocialProviderCredentials;
        return socialProviders[id](credentials);
      });
      const ids = new Set<string>(built.map((provider) => provider.id));
      return {
        options: {
          socialProviders: config,
          account: { accountLinking: ACCOUNT_LINKING },
          databaseHooks: { user: { create: { before: verifiedSocialAddress } } },
        },
        context: { socialProviders: [...ctx.socialProviders.filter((provider) => !ids.has(provider.id)), ...built] },
      };
    },
  } satisfies BetterAuthPlugin;
}
