import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";
import { ORG_SLUG_RESERVED, ORG_SLUG_RESERVED_MESSAGE } from "../../../../shared/contracts/org-slug.ts";
import { slugIsReserved } from "../../../../shared/db/org-slug.ts";

function reserved(): APIError {
  return new APIError("BAD_REQUEST", { code: ORG_SLUG_RESERVED, message: ORG_SLUG_RESERVED_MESSAGE });
}

/**
 * Better Auth takes any slug; ours never looks like an org id. A path that
 * names an org by id or slug (dynamic client registration's
 * /oauth2/register/{org}) resolves an exact id first, and this keeps a new
 * slug from ever being read as another org's id in the first place.
 */
export function orgSlugHooks(db: D1Database) {
  const refuseReserved = async (slug: unknown) => {
    if (typeof slug === "string" && (await slugIsReserved(db, slug))) throw reserved();
  };
  return {
    beforeCreateOrganization: async ({ organization }: { organization: { slug?: unknown } }) => {
      await refuseReserved(organization.slug);
    },
    beforeUpdateOrganization: async ({ organization }: { organization: { slug?: unknown } }) => {
      await refuseReserved(organization.slug);
    },
  };
}

const CHECK_SLUG = "/organization/check-slug";

/**
 * `/organization/check-slug` by the same rule as create: Better Auth's own
 * check asks only whether an org has the slug, so it called an id-shaped
 * slug available and the create that followed was refused. A reserved slug
 * is answered as Better Auth answers a taken one (`400 {code, message}`),
 * with the code create gives for it. Asked only for a signed-in caller (the
 * endpoint's own session check answers everyone else `401`), so the rule's
 * "any existing org's id" part tells nobody signed out which ids exist.
 */
export function orgSlugCheck(db: D1Database): BetterAuthPlugin {
  return {
    id: "mono-org-slug-check",
    hooks: {
      before: [
        {
          matcher: (ctx) => ctx.path === CHECK_SLUG,
          handler: createAuthMiddleware(async (ctx) => {
            const body: unknown = ctx.body;
            const slug = body && typeof body === "object" && "slug" in body ? body.slug : undefined;
            // A body without a string slug is Better Auth's own 400.
            if (typeof slug !== "string") return;
            if (!(await getSessionFromCtx(ctx, { disableCookieCache: true }))) return;
            if (await slugIsReserved(db, slug)) throw reserved();
          }),
        },
      ],
    },
  };
}
