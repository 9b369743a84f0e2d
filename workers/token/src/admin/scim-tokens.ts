import { and, asc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { generateScimToken, scimTokenId } from "../../../../shared/crypto/scim-token.ts";
import { hashSecret } from "../../../../shared/crypto/secret-hash.ts";
import { afterPosition, type PageRequest } from "../../../../shared/db/keyset-page.ts";
import { scimToken } from "../../../../shared/db/schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { tokenConfig } from "../config.ts";
import { auditDetail } from "./audit.ts";
import { readOptionalJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import { nextCursor, pageOf, pageQuery, readPage } from "./page.ts";
import { route } from "./route.ts";
import type { AdminApp } from "./types.ts";
import { onlyFields, optionalInteger, optionalString } from "./validate.ts";

const MAX_LIFETIME_DAYS = 730;
const DAY_MS = 24 * 60 * 60 * 1000;

const tokenView = z.object({
  id: z.string(),
  org_id: z.string(),
  description: z.string().nullable(),
  created_by: z.string(),
  created_at: z.iso.datetime(),
  expires_at: z.iso.datetime().nullable(),
});

type Row = typeof scimToken.$inferSelect;

function view(row: Row) {
  return {
    id: row.id,
    org_id: row.orgId,
    description: row.description,
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
    expires_at: row.expiresAt?.toISOString() ?? null,
  };
}

/**
 * An org's SCIM tokens (shared/crypto/scim-token.ts), for platform operators
 * and the org's owners and admins (`orgAdmins: "org"`, admin/authorize.ts):
 * a member cannot mint the credential that provisions the org's people.
 * A token reaches exactly the org in the path (workers/authn/src/scim/),
 * never another org and never the platform: requireOrg refuses the
 * platform's own id (GHSA-j8v8-g9cx-5qf4).
 *
 * - POST /orgs/{org}/scim-tokens `{ description?, expires_in_days? }` → 201
 *   with `token`, shown this once (only its hash is stored), and `scim_url`,
 *   the base URL the directory is given.
 * - GET /orgs/{org}/scim-tokens?limit=&cursor= → `{ scim_tokens: [...],
 *   next_cursor }`, oldest first, a page at a time (admin/page.ts); never a token.
 * - DELETE /orgs/{org}/scim-tokens/{id} → the token stops working at once
 *   (each SCIM request reads its row).
 */
export function scimTokenRoutes(admin: AdminApp): void {
  route(
    admin,
    "post",
    "/orgs/:org/scim-tokens",
    {
      summary: "Create a SCIM provisioning token for the org (shown once)",
      body: z.object({
        description: z.string().max(200).optional(),
        expires_in_days: z.number().int().min(1).max(MAX_LIFETIME_DAYS).optional(),
      }),
      bodyOptional: true,
      response: tokenView.extend({ token: z.string(), scim_url: z.string() }),
      status: 201,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const body = await readOptionalJsonObject(c);
      onlyFields(body, ["description", "expires_in_days"]);
      const description = optionalString(body, "description", { max: 200 }) ?? null;
      const days = optionalInteger(body, "expires_in_days", { min: 1, max: MAX_LIFETIME_DAYS });
      const { id, token } = generateScimToken();
      const now = new Date();
      const row: Row = {
        id,
        orgId,
        tokenHash: await hashSecret(token),
        description,
        createdBy: c.get("operator").subject,
        createdAt: now,
        expiresAt: days ? new Date(now.getTime() + days * DAY_MS) : null,
      };
      await drizzle(c.env.DB).insert(scimToken).values(row).run();
      auditDetail(c, { action: "scim.token.create", scim_token_id: id });
      return c.json({ ...view(row), token, scim_url: `${tokenConfig(c.env).issuer}${ENDPOINT.scim}` }, 201);
    },
  );

  route(
    admin,
    "get",
    "/orgs/:org/scim-tokens",
    {
      summary: "The org's SCIM tokens (never the tokens themselves), oldest first, a page at a time",
      query: pageQuery,
      response: z.object({ scim_tokens: z.array(tokenView), next_cursor: nextCursor }),
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const page = readPage(c);
      auditDetail(c, { action: "scim.token.list" });
      const { items, next_cursor } = pageOf(await listScimTokens(c.env.DB, orgId, page), page.limit, (row) => ({
        createdAt: row.createdAt.getTime(),
        id: row.id,
      }));
      return c.json({ scim_tokens: items.map(view), next_cursor });
    },
  );

  route(
    admin,
    "delete",
    "/orgs/:org/scim-tokens/:id",
    { summary: "Delete a SCIM token: it stops working at once", response: tokenView, orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      const id = c.req.param("id");
      auditDetail(c, { action: "scim.token.delete", scim_token_id: id });
      // The token itself where its id belongs: no row has that id, and the answer says why (the
      // audit keeps it as [secret], admin/audit.ts).
      if (scimTokenId(id) !== undefined) {
        throw new HttpError("not_found", "no such SCIM token: name it by its id, not by the token itself");
      }
      const deleted = await drizzle(c.env.DB)
        .delete(scimToken)
        .where(and(eq(scimToken.orgId, orgId), eq(scimToken.id, id)))
        .returning()
        .get();
      if (!deleted) throw new HttpError("not_found", "no such SCIM token in this organization");
      return c.json(view(deleted));
    },
  );
}

/**
 * A page of the org's SCIM tokens, oldest first: `page.limit + 1` of them,
 * the extra one saying that another page follows (shared/db/keyset-page.ts).
 */
export function listScimTokens(db: D1Database, orgId: string, page: PageRequest) {
  return drizzle(db)
    .select()
    .from(scimToken)
    .where(and(eq(scimToken.orgId, orgId), afterPosition(scimToken.createdAt, scimToken.id, page.after)))
    .orderBy(asc(scimToken.createdAt), asc(scimToken.id))
    .limit(page.limit + 1)
    .all();
}
