import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { slugHasOrgIdShape } from "../contracts/org-slug.ts";
import { organization } from "./auth-schema.ts";

/**
 * Whether `slug` is refused for an org: id-shaped, or any existing org's id
 * (ids written by other means, such as imports or fixtures, need not have
 * the shape), so no slug can ever be read as another org's id.
 */
export async function slugIsReserved(db: D1Database, slug: string): Promise<boolean> {
  if (slugHasOrgIdShape(slug)) return true;
  const row = await drizzle(db)
    .select({ id: organization.id })
    .from(organization)
    .where(eq(organization.id, slug))
    .get();
  return row !== undefined;
}
