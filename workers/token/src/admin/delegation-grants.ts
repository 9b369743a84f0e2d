import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { ALL_SCOPES } from "../../../../shared/contracts/scopes.ts";
import { member } from "../../../../shared/db/auth-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { revokeGrantRecordedFirst } from "../revocations/grant-revocation.ts";
import { findStoredClient } from "../clients/registry.ts";
import {
  createDelegationGrant,
  type DelegationGrant,
  findDelegationGrant,
  listDelegationGrants,
  revokeDelegationGrant,
} from "../grants/delegation-grants.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import { pageOf, pageQuery, readPage } from "./page.ts";
import type { AdminApp } from "./types.ts";
import { type Body, onlyFields, optionalList, optionalString, requiredString } from "./validate.ts";
import { z } from "zod";
import { delegationGrantSchemas } from "../openapi/schemas.ts";
import { route } from "./route.ts";

const PATH = "/orgs/:org/delegation-grants";
const USER_ID = { max: 128 };
const CLIENT_ID = { max: 256 };
const MAX_LIST_ITEMS = 32;
/** Longest audience URI a grant names. */
const MAX_AUDIENCE_LENGTH = 1024;

/** A grant as the admin API shows it (snake_case, ISO 8601 times). */
export interface DelegationGrantView {
  id: string;
  org_id: string;
  subject: string;
  actor_client_id: string;
  scopes: readonly string[];
  audiences: readonly string[];
  status: "active" | "revoked";
  expires_at: string | null;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
}

function grantView(grant: DelegationGrant): DelegationGrantView {
  return {
    id: grant.id,
    org_id: grant.orgId,
    subject: grant.subject,
    actor_client_id: grant.actorClientId,
    scopes: grant.scopes,
    audiences: grant.audiences,
    status: grant.status,
    expires_at: grant.expiresAt?.toISOString() ?? null,
    created_by: grant.createdBy,
    created_at: grant.createdAt.toISOString(),
    revoked_at: grant.revokedAt?.toISOString() ?? null,
  };
}

/**
 * Delegation grants of an org (grants/delegation-grants.ts), managed by
 * operators (and tests).
 *
 * - POST `{ subject, actor_client_id, scopes, audiences, expires_at? }` →
 *   201 the grant. `subject` is a member of the org, `actor_client_id` a
 *   client of the org, `scopes` known scopes, `audiences` absolute URIs,
 *   `expires_at` (ISO 8601) in the future; anything else 400 `invalid_body`
 *   naming the field.
 * - GET `?subject=&actor_client_id=&limit=&cursor=` → `{ grants: [...],
 *   next_cursor }`, newest first, a page at a time (admin/page.ts).
 * - DELETE `/{id}` → 200 the grant, revoked: a `grant` revocation recorded
 *   in the org's Durable Object first cuts off every token already minted
 *   under it (`grant_id`) at every gateway within the staleness bound, then
 *   D1 marks it revoked, so no exchange honours it. 503
 *   `temporarily_unavailable` when either step fails: the object's refusal
 *   leaves the grant `active` in D1, and a retry does it all again
 *   (revocations/grant-revocation.ts). Revoking twice records again and
 *   keeps the first time; 404 if the org has none.
 */
export function delegationGrantRoutes(admin: AdminApp): void {
  route(
    admin,
    "post",
    PATH,
    {
      summary: "Let an agent act for a member (a delegation grant)",
      body: delegationGrantSchemas.create,
      response: delegationGrantSchemas.view,
      status: 201,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const body = await readJsonObject(c);
      onlyFields(body, ["subject", "actor_client_id", "scopes", "audiences", "expires_at"]);
      const subject = requiredString(body, "subject", USER_ID);
      const actorClientId = requiredString(body, "actor_client_id", CLIENT_ID);
      const scopes = requiredList(body, "scopes", { allowed: ALL_SCOPES, maxItems: MAX_LIST_ITEMS, itemMax: 128 });
      const audiences = requiredList(body, "audiences", {
        maxItems: MAX_LIST_ITEMS,
        itemMax: MAX_AUDIENCE_LENGTH,
        check: isAbsoluteUri,
      });
      const expiresAt = futureTime(body, "expires_at");
      await requireMember(c.env.DB, orgId, subject);
      const actor = await findStoredClient(c.env.DB, actorClientId);
      if (!actor || actor.orgId !== orgId)
        throw new HttpError("invalid_body", "actor_client_id: no such client in this org");
      const grant = await createDelegationGrant(c.env.DB, {
        orgId,
        subject,
        actorClientId,
        scopes,
        audiences,
        expiresAt,
        createdBy: c.get("operator").subject,
      });
      auditDetail(c, {
        action: "delegation_grant.create",
        delegation_grant_id: grant.id,
        subject,
        actor_client_id: actorClientId,
      });
      return c.json(grantView(grant), 201);
    },
  );

  route(
    admin,
    "get",
    PATH,
    {
      summary: "List delegation grants, newest first, a page at a time",
      query: { subject: z.string(), actor_client_id: z.string(), ...pageQuery },
      response: delegationGrantSchemas.list,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "delegation_grant.list" });
      const page = readPage(c, ["subject", "actor_client_id"]);
      const subject = c.req.query("subject");
      const actorClientId = c.req.query("actor_client_id");
      const filter = { ...(subject ? { subject } : {}), ...(actorClientId ? { actorClientId } : {}) };
      const { items, next_cursor } = pageOf(
        await listDelegationGrants(c.env.DB, orgId, filter, page),
        page.limit,
        (grant) => ({ createdAt: grant.createdAt.getTime(), id: grant.id }),
      );
      return c.json({ grants: items.map(grantView), next_cursor });
    },
  );

  route(
    admin,
    "delete",
    `${PATH}/:id`,
    { summary: "Revoke a delegation grant", response: delegationGrantSchemas.view, orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      const id = c.req.param("id");
      auditDetail(c, { action: "delegation_grant.revoke", delegation_grant_id: id });
      const existing = await findDelegationGrant(c.env.DB, orgId, id);
      if (!existing) throw new HttpError("not_found", "no such delegation grant in this org");
      // Recorded first, on every call (one already revoked too): revocations/grant-revocation.ts.
      const grant = await revokeGrantRecordedFirst(
        c.env,
        { orgId, grantId: existing.id, reason: "delegation grant revoked" },
        (promise) => c.executionCtx.waitUntil(promise),
        { markRevoked: () => revokeDelegationGrant(c.env.DB, orgId, existing.id) },
      );
      // Gone since it was read: its tokens are cut off all the same; there is no grant to show.
      if (!grant) throw new HttpError("not_found", "no such delegation grant in this org");
      return c.json(grantView(grant));
    },
  );
}

function requiredList(body: Body, field: string, rule: Parameters<typeof optionalList>[2]): string[] {
  const list = optionalList(body, field, rule);
  if (!list || list.length === 0) throw new HttpError("invalid_body", `${field}: required, at least one value`);
  return list;
}

function isAbsoluteUri(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && !url.hash && !url.username && !url.password;
  } catch {
    return false;
  }
}

/** An ISO 8601 time after now, or null when absent (the grant does not expire). */
function futureTime(body: Body, field: string): Date | null {
  const text = optionalString(body, field, { max: 64 });
  if (text === undefined) return null;
  const time = Date.parse(text);
  if (!Number.isFinite(time)) throw new HttpError("invalid_body", `${field}: must be an ISO 8601 time`);
  if (time <= Date.now()) throw new HttpError("invalid_body", `${field}: must be in the future`);
  return new Date(time);
}

/** A grant lets an agent act for a person of the org, so the subject must be one. */
async function requireMember(db: D1Database, orgId: string, userId: string): Promise<void> {
  const row = await drizzle(db)
    .select({ id: member.id })
    .from(member)
    .where(and(eq(member.organizationId, orgId), eq(member.userId, userId)))
    .get();
  if (!row) throw new HttpError("invalid_body", "subject: not a member of this org");
}
