/**
 * /scim/v2/Users (RFC 7644 §3.3 create, §3.4 read and list, §3.5.1 replace,
 * §3.5.2 modify, §3.6 delete) for the calling token's org only.
 */
import { drizzle } from "drizzle-orm/d1";
import type { Context, Hono } from "hono";
import { authnConfig } from "../config.ts";
import { projectionOf, returnsAttribute } from "./attribute-projection.ts";
import type { ScimApp } from "./authenticate.ts";
import { deleteUser, endAccess, liftDeactivationBan } from "./deprovision.ts";
import { scimJson, scimBody } from "./http.ts";
import { namesActive, patchOperations, patchUser } from "./patch.ts";
import { requireOrgDomain, requireOrgRename } from "./org-domains.ts";
import { listQuery } from "./query.ts";
import {
  bodyNamesActive,
  listResponse,
  SCIM_SCHEMA,
  type StoredUser,
  type UserState,
  userResource,
  userStateFromBody,
} from "./resources.ts";
import { insertUser, listUsers, requireUser, USER_FILTERS, updateUser, userAnswer } from "./user-store.ts";
import { ScimError } from "../../../../shared/errors/scim.ts";

/**
 * Whether this request's answer returns the person's groups (RFC 7644 §3.4.2.5, §3.9: reads and
 * the answers of writes alike); when not, their memberships are not read. The projection was read
 * and checked before the handler ran (attribute-projection.ts), which shapes the answer itself.
 */
function returnsGroups(c: Context<ScimApp>): boolean {
  return returnsAttribute(projectionOf(new URL(c.req.url).searchParams), SCIM_SCHEMA.user, "groups");
}

async function answer(c: Context<ScimApp>, id: string, status: 200 | 201) {
  const stored = await userAnswer(drizzle(c.env.DB), c.var.scim.orgId, id, returnsGroups(c));
  const resource = userResource(authnConfig(c.env).issuer, stored);
  return scimJson(resource, status, status === 201 ? { Location: resource.meta.location } : undefined);
}

/** Attempts at a change of one person before the directory is asked to retry (changeUser). */
const MAX_USER_WRITE_ATTEMPTS = 16;

/**
 * Writes the person's next state, computed by `change` from their state as
 * it is when written (`active` only if the change names it): a write that
 * another overtook between its read and its batch writes nothing
 * (user-store.ts updateUser) and is computed again from what that one left,
 * so concurrent PATCHes of different attributes each land instead of the
 * last undoing the others. 503 `unavailable` (the directory retries) if it
 * keeps losing.
 */
async function changeUser(
  c: Context<ScimApp>,
  id: string,
  change: (current: StoredUser) => { next: UserState; activeNamed: boolean },
): Promise<void> {
  const { orgId } = c.var.scim;
  const db = drizzle(c.env.DB);
  for (let attempt = 0; attempt < MAX_USER_WRITE_ATTEMPTS; attempt++) {
    const current = await requireUser(db, orgId, id);
    const { next, activeNamed } = change(current);
    // A new address must be the org's as much as a created one, and so must the one it replaces (org-domains.ts).
    if (next.email !== current.email) await requireOrgRename(db, orgId, current.email, next.email);
    if (await updateUser(db, orgId, current, next, activeNamed)) return;
  }
  throw new ScimError("unavailable", "the User kept changing while this request was written; try again");
}

/**
 * Changes the person (changeUser), then, if they are inactive as stored
 * now, not as read before, ends their access: a retry converges, and a
 * concurrent deactivation is never undone.
 */
async function apply(
  c: Context<ScimApp>,
  id: string,
  change: (current: StoredUser) => { next: UserState; activeNamed: boolean },
) {
  const { orgId } = c.var.scim;
  await changeUser(c, id, change);
  const stored = await userAnswer(drizzle(c.env.DB), orgId, id, returnsGroups(c));
  if (!stored.active) await endAccess(c.env, orgId, id, "scim-deactivated");
  return scimJson(userResource(authnConfig(c.env).issuer, stored));
}

export function userRoutes(app: Hono<ScimApp>): void {
  app.get("/Users", async (c) => {
    const query = listQuery(new URL(c.req.url).searchParams, USER_FILTERS, SCIM_SCHEMA.user);
    const { users, total } = await listUsers(drizzle(c.env.DB), c.var.scim.orgId, query, returnsGroups(c));
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
    return apply(c, c.req.param("id"), (current) => ({
      next: userStateFromBody(body, current.active),
      activeNamed: bodyNamesActive(body),
    }));
  });

  app.patch("/Users/:id", async (c) => {
    const operations = patchOperations(await scimBody(c));
    return apply(c, c.req.param("id"), (current) => ({
      next: patchUser(current, operations),
      activeNamed: namesActive(operations),
    }));
  });

  // §3.6: the resource is gone; the person was this org's directory's alone (user-store.ts), so the account goes too.
  app.delete("/Users/:id", async (c) => {
    const db = drizzle(c.env.DB);
    const { orgId } = c.var.scim;
    const id = c.req.param("id");
    // First no new session and no live one, each ending revoked; then the rows.
    await changeUser(c, id, (current) => ({ next: { ...current, active: false }, activeNamed: true }));
    await endAccess(c.env, orgId, id, "scim-deleted");
    await deleteUser(c.env, id);
    await liftDeactivationBan(db, id).run();
    return c.body(null, 204);
  });
}
