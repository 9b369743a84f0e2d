import { asc, eq, inArray, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { PLATFORM_ORG_ID } from "../../../../shared/contracts/tokens.ts";
import { ORG_SLUG_RESERVED } from "../../../../shared/contracts/org-slug.ts";
import { organization } from "../../../../shared/db/auth-schema.ts";
import { slugIsReserved } from "../../../../shared/db/org-slug.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { auditDetail } from "./audit.ts";
import { deleteOrgHandler, orgDeletedSchema } from "./org-deletion.ts";
import { readJsonObject } from "./body.ts";
import type { AdminApp, AdminEnv } from "./types.ts";
import { onlyFields, optionalString, requiredString } from "./validate.ts";
import { orgListSchema, orgSchemas } from "../openapi/schemas.ts";
import { route } from "./route.ts";

/** Better Auth's organization slug shape: lower-case words joined by single hyphens. */
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** Most orgs one list returns; the list is for operators, not for paging through a tenant base. */
const MAX_LISTED_ORGS = 1000;

export interface OrgView {
  id: string;
  name: string;
  slug: string;
  created_at: string;
}

function orgView(row: typeof organization.$inferSelect): OrgView {
  return { id: row.id, name: row.name, slug: row.slug, created_at: row.createdAt.toISOString() };
}

/** 32 random base62 characters, the shape of Better Auth's own ids. */
function generateOrgId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

function slugFrom(name: string): string {
  const base = name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  const suffix = crypto.randomUUID().slice(0, 8);
  return base ? `${base}-${suffix}` : `org-${suffix}`;
}

/**
 * The org a path names, or 404 `not_found`. PLATFORM_ORG_ID is never an
 * organization: operator clients are not managed through org routes.
 */
export async function requireOrg(c: Context<AdminEnv>): Promise<string> {
  const orgId = c.req.param("org") ?? "";
  if (!(await orgExists(c.env.DB, orgId))) {
    // Kept out of every org's hash chain: an unknown id must not start a chain of its own
    // (`audit verify --org <anything>` would answer ok), so the refusal goes to the platform's.
    auditDetail(c, { requested_org: orgId.slice(0, 128) });
    throw new HttpError("not_found", "no such organization");
  }
  auditDetail(c, { org_id: orgId });
  return orgId;
}

/** Whether an organization has this id; PLATFORM_ORG_ID never is one. */
export async function orgExists(db: D1Database, orgId: string): Promise<boolean> {
  if (orgId === PLATFORM_ORG_ID || orgId.length > 128) return false;
  const row = await drizzle(db)
    .select({ id: organization.id })
    .from(organization)
    .where(eq(organization.id, orgId))
    .get();
  return row !== undefined;
}

/**
 * POST /orgs `{ name, slug? }` → 201 `{ id, name, slug, created_at }`: a
 * Better Auth organization row (shared/db/auth-schema.ts), written directly;
 * a taken slug is 409 `conflict`, an id-shaped one (or another org's id)
 * 400 `invalid_body` ORG_SLUG_RESERVED. GET /orgs → `{ orgs: [...] }`.
 * DELETE /orgs/{org} → 200 the org, `deleted: true` (admin/org-deletion.ts).
 */
export function orgRoutes(admin: AdminApp): void {
  route(
    admin,
    "post",
    "/orgs",
    { summary: "Create an organization", body: orgSchemas.create, response: orgSchemas.view, status: 201 },
    async (c) => {
      const body = await readJsonObject(c);
      onlyFields(body, ["name", "slug"]);
      const name = requiredString(body, "name", { max: 100 });
      const slug =
        optionalString(body, "slug", {
          max: 64,
          pattern: SLUG,
          patternText: "lower-case letters, digits and single hyphens",
        }) ?? slugFrom(name);
      // The rule Better Auth's org hooks apply (workers/authn/src/auth/org-slug-hooks.ts).
      if (await slugIsReserved(c.env.DB, slug)) {
        throw new HttpError("invalid_body", `${ORG_SLUG_RESERVED}: slug may not look like an organization id`);
      }
      const db = drizzle(c.env.DB);
      const taken = await db
        .select({ id: organization.id })
        .from(organization)
        .where(eq(organization.slug, slug))
        .get();
      if (taken) throw new HttpError("conflict", "slug already taken");
      const row = await db
        .insert(organization)
        .values({ id: generateOrgId(), name, slug, createdAt: new Date(), metadata: null })
        .onConflictDoNothing()
        .returning()
        .get();
      // Two creations raced for the slug; the unique index let one win.
      if (!row) throw new HttpError("conflict", "slug already taken");
      auditDetail(c, { org_id: row.id, action: "org.create" });
      return c.json(orgView(row), 201);
    },
  );

  route(
    admin,
    "get",
    "/orgs",
    { summary: "List organizations (an org admin: its own)", response: orgListSchema, orgAdmins: "self" },
    async (c) => {
      auditDetail(c, { action: "org.list" });
      const { reach } = c.get("operator");
      const rows = await drizzle(c.env.DB)
        .select()
        .from(organization)
        // An org admin sees the orgs it administers, never the tenant list;
        // their ids as one JSON parameter: D1 binds at most 100 per statement.
        .where(
          reach.platform
            ? undefined
            : inArray(organization.id, sql`(SELECT value FROM json_each(${JSON.stringify([...reach.orgIds])}))`),
        )
        .orderBy(asc(organization.createdAt), asc(organization.id))
        .limit(MAX_LISTED_ORGS)
        .all();
      return c.json({ orgs: rows.map(orgView) });
    },
  );

  route(
    admin,
    "delete",
    "/orgs/:org",
    {
      summary: "Delete an organization: its tokens cut off before and after the delete",
      description:
        "Platform operators only. Deletes what Better Auth's organization delete does (the org, its members and " +
        "invitations); an `org` revocation is recorded before (503 and nothing deleted if it cannot be) and after " +
        "(`cutoff: owed` if it cannot be: the cron records it). An org that is gone: 404.",
      response: orgDeletedSchema,
    },
    deleteOrgHandler,
  );
}
