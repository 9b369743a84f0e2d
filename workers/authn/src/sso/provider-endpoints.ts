import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { OUTBOUND_URL_FORBIDDEN, outboundUrlProblem } from "../../../../shared/http/outbound-url.ts";
import { SSO_PKCE_REQUIRED } from "./provider-registration.ts";

type BeforeHook = NonNullable<NonNullable<BetterAuthPlugin["hooks"]>["before"]>[number];

/** The OIDC endpoints the Worker itself fetches (the authorization endpoint is the browser's). */
const FETCHED = ["discoveryEndpoint", "tokenEndpoint", "userInfoEndpoint", "jwksEndpoint"] as const;

const REGISTER = "/sso/register";
const UPDATE = "/sso/update-provider";
const CALLBACK = "/sso/callback/:providerId";

interface HookContext {
  context: { baseURL: string; isTrustedOrigin: (url: string) => boolean };
}

/**
 * Why the Worker may not fetch `url` on an org admin's word, or undefined.
 * The project's one guard (shared/http/outbound-url.ts): the plugin's own
 * (GHSA-5rr4-8452-hf4v) checks addresses but passes plain http, credentials,
 * single-label names and `.internal`/`.local` names. The allowance for an
 * internal IdP stays the plugin's: an origin named in TRUSTED_ORIGINS.
 */
function endpointProblem(ctx: HookContext, url: string): string | undefined {
  if (ctx.context.isTrustedOrigin(url)) return undefined;
  return outboundUrlProblem(url, new URL(ctx.context.baseURL).origin);
}

function refuse(name: string, problem: string): never {
  throw new APIError("BAD_REQUEST", { code: OUTBOUND_URL_FORBIDDEN, message: `the provider's ${name} ${problem}` });
}

/** The endpoints (and the issuer, discovery's base) a registration or update names: each through the guard, else 400. */
export const guardProviderEndpoints: BeforeHook = {
  matcher: (context) => context.path === REGISTER || context.path === UPDATE,
  handler: createAuthMiddleware(async (ctx) => {
    const body = ctx.body as { issuer?: unknown; oidcConfig?: Record<string, unknown> | null } | undefined;
    const named: [string, unknown][] = [["issuer", body?.issuer]];
    for (const field of FETCHED) named.push([field, body?.oidcConfig?.[field]]);
    for (const [name, url] of named) {
      if (typeof url !== "string") continue;
      const problem = endpointProblem(ctx, url);
      if (problem !== undefined) refuse(name, problem);
    }
  }),
};

/**
 * Again right before the callback's server-side fetches (token, userinfo,
 * JWKS), on the configuration as stored (PKCE on, endpoints guarded): discovered from the issuer's document
 * at registration (which only the plugin's guard saw), or written before
 * this check existed.
 */
export const guardStoredEndpoints: BeforeHook = {
  matcher: (context) => context.path === CALLBACK,
  handler: createAuthMiddleware(async (ctx) => {
    const providerId = ctx.params?.providerId;
    if (typeof providerId !== "string") return;
    const provider = await ctx.context.adapter.findOne<{ oidcConfig?: string | null }>({
      model: "ssoProvider",
      where: [{ field: "providerId", value: providerId }],
    });
    if (!provider?.oidcConfig) return;
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(provider.oidcConfig) as Record<string, unknown>;
    } catch {
      // An unreadable configuration is the plugin's to refuse.
      return;
    }
    // A row stored with PKCE off before registration refused it
    // (provider-registration.ts) would redeem an injected code (RFC 9700 §2.1.1).
    if (config.pkce === false) {
      throw new APIError("BAD_REQUEST", {
        code: SSO_PKCE_REQUIRED,
        message: "the provider is configured without PKCE: update it with oidcConfig.pkce true",
      });
    }
    for (const field of FETCHED) {
      const url = config[field];
      if (typeof url !== "string") continue;
      const problem = endpointProblem(ctx, url);
      if (problem !== undefined) refuse(field, problem);
    }
  }),
};
