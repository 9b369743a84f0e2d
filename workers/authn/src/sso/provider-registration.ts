import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware } from "better-auth/api";

/** Better Auth's error code when a provider would belong to no organization. */
export const SSO_PROVIDER_ORGANIZATION_REQUIRED = "SSO_PROVIDER_ORGANIZATION_REQUIRED";

/** Better Auth's error code for a provider configured for SAML, which this deployment does not offer. */
export const SSO_SAML_NOT_OFFERED = "SSO_SAML_NOT_OFFERED";

/** Better Auth's error code for a provider naming a domain another organization has verified. */
export const SSO_DOMAIN_CLAIMED = "SSO_DOMAIN_CLAIMED";

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

const VERIFIED_PAGE = 100;

/** A provider's `domain` as its list of names (comma-separated, as the plugin stores it), lowercased, without a root dot. */
function domainNames(domains: string): string[] {
  return domains
    .split(",")
    .map((domain) => domain.trim().toLowerCase().replace(/\.$/, ""))
    .filter(Boolean);
}

/** Whether two names cover a common address: the same name, or one a subdomain of the other. */
function overlaps(a: string, b: string): boolean {
  return a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);
}

/**
 * A domain one organization has proven by DNS is that organization's: no
 * other org may register or move a provider onto it or a name under or above
 * it (GHSA-gv74-j8m3-fg5f's concern, per domain). The plugin refuses such a
 * provider nothing before verification, and `/sign-in/sso` by email picks
 * the first provider whose domain matches, verified or not, so a squatting
 * provider could shadow the owner's (its people answered `401`). `409
 * SSO_DOMAIN_CLAIMED`, nothing stored.
 */
export const refuseClaimedDomain: NonNullable<NonNullable<BetterAuthPlugin["hooks"]>["before"]>[number] = {
  matcher: (context) => context.path === REGISTER || context.path === UPDATE,
  handler: createAuthMiddleware(async (ctx) => {
    const body = ctx.body as { domain?: unknown; organizationId?: unknown; providerId?: unknown } | undefined;
    if (typeof body?.domain !== "string") return;
    const wanted = domainNames(body.domain);
    let organizationId = typeof body.organizationId === "string" ? body.organizationId : undefined;
    if (ctx.path === UPDATE && typeof body.providerId === "string") {
      const current = await ctx.context.adapter.findOne<{ organizationId?: string | null }>({
        model: "ssoProvider",
        where: [{ field: "providerId", value: body.providerId }],
      });
      // An unknown provider is the plugin's to answer (404).
      if (!current) return;
      organizationId = current.organizationId ?? undefined;
    }
    const verified: { domain: string; organizationId?: string | null }[] = [];
    // Paged as the plugin pages them: the adapter caps an unbounded findMany.
    for (let offset = 0; ; offset += VERIFIED_PAGE) {
      const page = await ctx.context.adapter.findMany<{ domain: string; organizationId?: string | null }>({
        model: "ssoProvider",
        where: [{ field: "domainVerified", value: true }],
        limit: VERIFIED_PAGE,
        offset,
        sortBy: { field: "providerId", direction: "asc" },
      });
      verified.push(...page);
      if (page.length < VERIFIED_PAGE) break;
    }
    const claimed = verified.some(
      (provider) =>
        provider.organizationId !== organizationId &&
        domainNames(provider.domain).some((owned) => wanted.some((name) => overlaps(name, owned))),
    );
    if (claimed) {
      throw new APIError("CONFLICT", {
        code: SSO_DOMAIN_CLAIMED,
        message: "another organization has verified this domain (or one above or under it)",
      });
    }
  }),
};
