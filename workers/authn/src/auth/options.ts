import type { BetterAuthOptions } from "better-auth";
import { organization } from "better-auth/plugins";
import { cookiePrefix } from "../../../../shared/contracts/cookies.ts";
import { bodyShapeGuardsPlugin } from "./body-shape-guards.ts";
import { freshSessionPlugin } from "../security/fresh-session.ts";
import { MAX_PASSWORD_UTF16_UNITS, MIN_PASSWORD_LENGTH, passwordPolicyPlugin } from "../security/password-policy.ts";
import { apiKeyPlugin, organizationRolesWithApiKeys } from "./plugins/api-key.ts";
import { type OidcRuntime, oauthProviderPlugins } from "./plugins/oauth-provider.ts";
import { passkeyPlugin } from "./plugins/passkey.ts";
import { socialSignInPlugin } from "./plugins/social.ts";
import { type SsoRuntime, ssoPlugin } from "./plugins/sso.ts";
import { twoFactorPlugin } from "./plugins/two-factor.ts";

type OrganizationOptions = NonNullable<Parameters<typeof organization>[0]>;

/** What the running Worker adds to the organization plugin; the schema generator needs none of it. */
export interface OrganizationRuntime {
  /** Organizations a person may create (Better Auth's `organizationLimit`). */
  organizationLimit: number;
  organizationHooks: OrganizationOptions["organizationHooks"];
}

/**
 * The Better Auth options that do not depend on bindings. The schema generator
 * (scripts/auth.cli.ts) and the Worker share them, so the generated D1 schema
 * always matches what the Worker runs.
 */
export function baseAuthOptions(issuer: string, runtime?: OrganizationRuntime, oidc?: OidcRuntime, sso?: SsoRuntime) {
  const secure = issuer.startsWith("https://");
  return {
    baseURL: issuer,
    basePath: "/api/auth",
    trustedOrigins: [new URL(issuer).origin],
    emailAndPassword: {
      enabled: true,
      autoSignIn: true,
      // security/password-policy.ts: the length in code points, and the
      // common-password list, in its plugin; these are Better Auth's own
      // bounds in UTF-16 units, which never refuse what the plugin allows.
      minPasswordLength: MIN_PASSWORD_LENGTH,
      maxPasswordLength: MAX_PASSWORD_UTF16_UNITS,
      // A reset ends every session (each through the revocation hooks) and
      // signs nobody in: the next sign-in faces the second factor as usual.
      revokeSessionsOnPasswordReset: true,
    },
    session: {
      expiresIn: 60 * 60 * 24 * 7,
      updateAge: 60 * 60 * 24,
    },
    // Better Auth's own limiter keeps its counters in the isolate's memory
    // (and is off outside NODE_ENV=production); credential attempts are
    // limited on the Workers rate-limiting binding instead
    // (limits/credential-limits.ts), for the pages and the API alike.
    rateLimit: { enabled: false },
    advanced: {
      // `__Host-` binds the cookie to this exact origin (no Domain, Path=/,
      // Secure); browsers only accept it over https, so plain-http local runs
      // use an unprefixed name instead.
      useSecureCookies: false,
      cookiePrefix: cookiePrefix(issuer),
      defaultCookieAttributes: { secure, httpOnly: true, sameSite: "lax", path: "/" },
      // Behind Cloudflare the only client address worth trusting is the one
      // the edge sets; X-Forwarded-For is caller-controlled.
      ipAddress: { ipAddressHeaders: ["cf-connecting-ip"] },
    },
    plugins: [
      // First: its hook refuses bodies that other plugins' hooks would fault on (body-shape-guards.ts).
      bodyShapeGuardsPlugin(),
      passwordPolicyPlugin(),
      freshSessionPlugin(),
      organization({
        allowUserToCreateOrganization: true,
        // GHSA-fmh4-wcc4-5jm3: accepting (or rejecting) an invitation needs
        // the invited address, verified, on the signed-in account; Better
        // Auth would otherwise skip the verification with its default ids.
        requireEmailVerificationOnInvitation: true,
        // Owners and admins manage the org's API keys; members do not.
        ...organizationRolesWithApiKeys(),
        ...runtime,
      }),
      twoFactorPlugin(issuer),
      passkeyPlugin(issuer),
      apiKeyPlugin(),
      ssoPlugin(sso),
      socialSignInPlugin(),
      ...oauthProviderPlugins(issuer, oidc),
    ],
  } satisfies Omit<BetterAuthOptions, "database" | "secret">;
}
