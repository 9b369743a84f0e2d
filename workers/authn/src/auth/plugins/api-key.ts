import { apiKey } from "@better-auth/api-key";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";
import { createAccessControl } from "better-auth/plugins/access";
import { adminAc, defaultStatements, memberAc, ownerAc } from "better-auth/plugins/organization/access";

/** Days a key may live; a key is never created without an expiry. */
export const API_KEY_MAX_DAYS = 365;
export const API_KEY_DEFAULT_DAYS = 90;

/** Keys one person or one organization may hold at once (revoked and expired keys do not count). */
export const MAX_API_KEYS_PER_OWNER = 50;

const DAY_SECONDS = 24 * 60 * 60;

/**
 * Keys owned by a person (`user`) or by an organization (`org`). Better
 * Auth stores only the key's SHA-256 hash (and its first characters, to
 * tell keys apart in a list) and shows the key once, when it is created.
 * Every key expires; its scopes are set only by the server (the account
 * page, from the scopes the issuer knows: pages/account-actions.ts), never
 * by the caller of Better Auth's API, so a key made there carries none.
 */
export function apiKeyPlugin() {
  const common = {
    keyExpiration: {
      defaultExpiresIn: API_KEY_DEFAULT_DAYS * DAY_SECONDS,
      minExpiresIn: 1,
      maxExpiresIn: API_KEY_MAX_DAYS,
    },
    permissions: { defaultPermissions: {} },
    enableMetadata: false,
    requireName: true,
    maximumNameLength: 64,
    startingCharactersConfig: { shouldStore: true, charactersLength: 8 },
    // Better Auth's default is 10 uses a day; a key is for a program.
    rateLimit: { enabled: true, timeWindow: 60_000, maxRequests: 600 },
  };
  const plugin = apiKey([
    { configId: "user", references: "user", defaultPrefix: "mak_", ...common },
    { configId: "org", references: "organization", defaultPrefix: "mao_", ...common },
  ]);

  // Bounded like a person's organizations and sessions: keys cannot be piled
  // up without limit by a script holding a session.
  const capKeys = createAuthMiddleware(async (ctx) => {
    const body = (ctx.body ?? {}) as { configId?: unknown; organizationId?: unknown; userId?: unknown };
    const owner =
      body.configId === "org"
        ? body.organizationId
        : ((await getSessionFromCtx(ctx, { disableCookieCache: true }))?.user.id ?? body.userId);
    if (typeof owner !== "string" || !owner) return;
    const held = await ctx.context.adapter.count({
      model: "apikey",
      where: [
        { field: "referenceId", value: owner },
        { field: "expiresAt", operator: "gt", value: new Date() },
      ],
    });
    if (held >= MAX_API_KEYS_PER_OWNER) {
      throw new APIError("FORBIDDEN", {
        code: "API_KEY_LIMIT_REACHED",
        message: `At most ${MAX_API_KEYS_PER_OWNER} API keys at once; revoke one first`,
      });
    }
  });

  // Better Auth's update takes `expiresIn: null` as "never expires" (it
  // checks the bounds only of a number): a key would then outlive every
  // expiry rule and drop out of the cap above, which counts live keys by
  // their expiry. A new expiry is a number of seconds within the bounds.
  const keepExpiry = createAuthMiddleware(async (ctx) => {
    const body = (ctx.body ?? {}) as { expiresIn?: unknown };
    if (body.expiresIn === null) {
      throw new APIError("BAD_REQUEST", {
        code: "API_KEY_EXPIRY_REQUIRED",
        message: `Every API key expires; give expiresIn in seconds (at most ${API_KEY_MAX_DAYS} days)`,
      });
    }
  });

  return {
    ...plugin,
    hooks: {
      ...plugin.hooks,
      before: [
        ...(plugin.hooks?.before ?? []),
        { matcher: (context: { path?: string }) => context.path === "/api-key/create", handler: capKeys },
        { matcher: (context: { path?: string }) => context.path === "/api-key/update", handler: keepExpiry },
      ],
    },
  };
}

const API_KEY_ACTIONS = ["create", "read", "update", "delete"] as const;

/**
 * The organization roles with the right to manage the org's API keys: owners
 * and admins may, members may not. Better Auth's api-key plugin asks the
 * organization plugin for the `apiKey` permission of the member's role; its
 * default roles know no `apiKey` statement, so without these only the owner
 * could. The rest of each role is Better Auth's default.
 */
export function organizationRolesWithApiKeys() {
  const ac = createAccessControl({ ...defaultStatements, apiKey: API_KEY_ACTIONS });
  return {
    ac,
    roles: {
      owner: ac.newRole({ ...ownerAc.statements, apiKey: [...API_KEY_ACTIONS] }),
      admin: ac.newRole({ ...adminAc.statements, apiKey: [...API_KEY_ACTIONS] }),
      member: ac.newRole({ ...memberAc.statements }),
    },
  };
}
