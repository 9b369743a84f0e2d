import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware } from "better-auth/api";

/** Better Auth's error code when a provider would belong to no organization. */
export const SSO_PROVIDER_ORGANIZATION_REQUIRED = "SSO_PROVIDER_ORGANIZATION_REQUIRED";

/** Better Auth's error code for a provider configured for SAML, which this deployment does not offer. */
export const SSO_SAML_NOT_OFFERED = "SSO_SAML_NOT_OFFERED";

/** Better Auth's error code for a provider configured without PKCE. */
export const SSO_PKCE_REQUIRED = "SSO_PKCE_REQUIRED";

const REGISTER = "/sso/register";
const UPDATE = "/sso/update-provider";

/**
 * Every SSO provider belongs to one organization, registered by an owner or
 * admin of that organization. @better-auth/sso checks the role only when the
 * body names an `organizationId` (GHSA-gv74-j8m3-fg5f: before 1.6.11 it
 * checked membership alone); without one it registers a personal provider
 * that any signed-in person may create. So the body must name one, and the
 * plugin's own check (owner or admin of that organization, else 403) always
 * runs.
 */
export const requireOrganizationOnRegister: NonNullable<NonNullable<BetterAuthPlugin["hooks"]>["before"]>[number] = {
  matcher: (context) => context.path === REGISTER,
  handler: createAuthMiddleware(async (ctx) => {
    const organizationId = (ctx.body as { organizationId?: unknown } | undefined)?.organizationId;
    if (typeof organizationId !== "string" || organizationId === "") {
      throw new APIError("BAD_REQUEST", {
        code: SSO_PROVIDER_ORGANIZATION_REQUIRED,
        message: "an SSO provider belongs to an organization: name its organizationId",
      });
    }
  }),
};

/**
 * SAML is not offered, and its endpoints are not served (auth/plugins/sso.ts):
 * a provider stored with a `samlConfig` could sign nobody in, and would be
 * the first to, should an endpoint ever be served again without anyone
 * reviewing the SAML path. So neither a registration nor an update may set one.
 */
export const refuseSamlConfig: NonNullable<NonNullable<BetterAuthPlugin["hooks"]>["before"]>[number] = {
  matcher: (context) => context.path === REGISTER || context.path === UPDATE,
  handler: createAuthMiddleware(async (ctx) => {
    const samlConfig = (ctx.body as { samlConfig?: unknown } | undefined)?.samlConfig;
    if (samlConfig !== undefined && samlConfig !== null) {
      throw new APIError("BAD_REQUEST", {
        code: SSO_SAML_NOT_OFFERED,
        message: "SAML single sign-on is not offered: register the provider with oidcConfig",
      });
    }
  }),
};

/**
 * The authorization code from the org's IdP is bound to the browser that
 * started the sign-in by PKCE alone: the plugin sends no OIDC `nonce`, so
 * with `pkce: false` a code stolen from a victim's redirect (a log, a
 * referrer, a malicious page on the redirect's path) would be redeemed in the
 * attacker's own flow and sign them in as the victim (RFC 9700 §2.1.1,
 * §4.5: code injection; the client MUST prevent it). PKCE (S256, the only
 * method the plugin sends) is the plugin's default; neither a registration
 * nor an update may turn it off.
 */
export const requirePkce: NonNullable<NonNullable<BetterAuthPlugin["hooks"]>["before"]>[number] = {
  matcher: (context) => context.path === REGISTER || context.path === UPDATE,
  handler: createAuthMiddleware(async (ctx) => {
    const oidcConfig = (ctx.body as { oidcConfig?: unknown } | undefined)?.oidcConfig;
    const pkce =
      typeof oidcConfig === "object" && oidcConfig !== null ? (oidcConfig as { pkce?: unknown }).pkce : undefined;
    if (pkce !== undefined && pkce !== true) {
      throw new APIError("BAD_REQUEST", {
        code: SSO_PKCE_REQUIRED,
        message: "an SSO provider signs people in with PKCE (RFC 9700 §2.1.1): leave oidcConfig.pkce true",
      });
    }
  }),
};
