import { APIError } from "better-auth/api";
import { ORG_SLUG_RESERVED, ORG_SLUG_RESERVED_MESSAGE } from "../../../../shared/contracts/org-slug.ts";
import { slugIsReserved } from "../../../../shared/db/org-slug.ts";

/**
 * Better Auth takes any slug; ours never looks like an org id. A path that
 * names an org by id or slug (dynamic client registration's
 * /oauth2/register/{org}) resolves an exact id first, and this keeps a new
 * slug from ever being read as another org's id in the first place.
 */
export function orgSlugHooks(db: D1Database) {
  const refuseReserved = async (slug: unknown) => {
    if (typeof slug === "string" && (await slugIsReserved(db, slug))) {
      throw new APIError("BAD_REQUEST", { code: ORG_SLUG_RESERVED, message: ORG_SLUG_RESERVED_MESSAGE });
    }
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
