import { PLATFORM_ORG_ID } from "./tokens.ts";

/**
 * The shape of an organization id: Better Auth's generated ids and the admin
 * API's (workers/token/src/admin/orgs.ts) are 32 base62 characters.
 */
export const ORG_ID_SHAPE = /^[A-Za-z0-9]{32}$/;

/**
 * The stable code of a refused slug: one shaped like an org id, or equal to
 * an existing org's id (or the platform's). A path segment that takes either
 * an id or a slug would otherwise let an owner name their org after another
 * org and receive what was meant for it.
 */
export const ORG_SLUG_RESERVED = "ORG_SLUG_RESERVED";

export const ORG_SLUG_RESERVED_MESSAGE = "A slug may not look like an organization id.";

/** True when `slug` may never be a slug, whatever orgs exist: an id's shape, or the platform's pseudo-org id. */
export function slugHasOrgIdShape(slug: string): boolean {
  return ORG_ID_SHAPE.test(slug) || slug === PLATFORM_ORG_ID;
}
