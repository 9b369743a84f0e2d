/**
 * /scim/v2/Users (RFC 7644 §3.3 create, §3.4 read and list, §3.5.1 replace,
 * §3.5.2 modify, §3.6 delete) for the calling token's org only.
 */
import { drizzle } from "drizzle-orm/d1";
import type { Context, Hono } from "hono";
import { authnConfig } from "../config.ts";
import type { ScimApp } from "./authenticate.ts";
import { deleteUser, endAccess, liftDeactivationBan } from "./deprovision.ts";
import { scimJson, scimBody } from "./http.ts";
import { namesActive, patchOperations, patchUser } from "./patch.ts";
import { requireOrgDomain, requireOrgRename } from "./org-domains.ts";
import { listQuery } from "./query.ts";
import {
  bodyNamesActive,
  listResponse,
  type StoredUser,
  type UserState,
  userResource,
  userStateFromBody,
} from "./resources.ts";
import { insertUser, listUsers, requireUser, USER_FILTERS, updateUser } from "./user-store.ts";

async function answer(c: Context<ScimApp>, id: string, status: 200 | 201) {
  const stored = await requireUser(drizzle(c.env.DB), c.var.scim.orgId, id);
  const resource = userResource(authnConfig(c.env).issuer, stored);
  return scimJson(resource, status, status === 201 ? { Location: resource.meta.location } : undefined);
}

/**
 * Writes the next state (`active` only if the request named it), then, if
 * the person is inactive as stored now, not as read before, ends their
 * access: a retry converges, and a concurrent deactivation is never undone.
 */
async function apply(c: Context<ScimApp>, current: StoredUser, next: UserState, activeNamed: boolean) {
  const { orgId } = c.var.scim;
  const db = drizzle(c.env.DB);
  // A new address must be the org's as much as a created one, and so must the one it replaces (org-domains.ts).
  if (next.email !== current.email) await requireOrgRename(db, orgId, current.email, next.email);
  await updateUser(db, orgId, current, next, activeNamed);
  const stored = await requireUser(db, orgId, current.id);
  if (!stored.active) await endAccess(c.env, orgId, current.id, "scim-deactivated");
  return scimJson(userResource(authnConfig(c.env).issuer, stored));
}

export function userRoutes(app: Hono<ScimApp>): void {
  app.get("/Users", async (c) => {
    const query = listQuery(new URL(c.req.url).searchParams, USER_FILTERS);
    const { users, total } = await listUsers(drizzle(c.env.DB), c.var.scim.orgId, query);
    const issuer = authnConfig(c.env).issuer;
    return scimJson(
      listResponse(
        users.map((u) => userResource(issuer, u)),
        total,
        query.startIndex,
      ),
    );
  });

  app.get("/Users/:id", (c) => answer(c, c.req.param("id"), 200));

  app.post("/Users", async (c) => {
    const state = userStateFromBody(await scimBody(c));
    const db = drizzle(c.env.DB);
    await requireOrgDomain(db, c.var.scim.orgId, state.email);
    const id = await insertUser(db, c.var.scim.orgId, state);
    return answer(c, id, 201);
  });

  app.put("/Users/:id", async (c) => {
    const body = await scimBody(c);
    const current = await requireUser(drizzle(c.env.DB), c.var.scim.orgId, c.req.param("id"));
    return apply(c, current, userStateFromBody(body, current.active), bodyNamesActive(body));
  });

  app.patch("/Users/:id", async (c) => {
    const operations = patchOperations(await scimBody(c));
    const current = await requireUser(drizzle(c.env.DB), c.var.scim.orgId, c.req.param("id"));
    return apply(c, current, patchUser(current, operations), namesActive(operations));
  });

  // §3.6: the resource is gone; the person was this org's directory's alone (user-store.ts), so the account goes too.
  app.delete("/Users/:id", async (c) => {
    const db = drizzle(c.env.DB);
    const { orgId } = c.var.scim;
    const current = await requireUser(db, orgId, c.req.param("id"));
    // First no new session and no live one, each ending revoked; then the rows.
    await updateUser(db, orgId, current, { ...current, active: false });
    await endAccess(c.env, orgId, current.id, "scim-deleted");
    await deleteUser(c.env, current.id);
    await liftDeactivationBan(db, current.id).run();
    return c.body(null, 204);
  });
}
