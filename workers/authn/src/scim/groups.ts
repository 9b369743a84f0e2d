/**
 * /scim/v2/Groups (RFC 7644 §3.3–§3.6) for the calling token's org only;
 * scim/roles.ts says what a Group means for its members' org roles.
 */
import { drizzle } from "drizzle-orm/d1";
import type { Context, Hono } from "hono";
import { authnConfig } from "../config.ts";
import type { ScimApp } from "./authenticate.ts";
import { orUnavailable } from "./deprovision.ts";
import { changeGroup, GROUP_FILTERS, listGroups, requireGroup, writeGroup } from "./group-store.ts";
import { scimBody, scimJson } from "./http.ts";
import { patchGroup, patchOperations, requireGroupPatchWithinCap } from "./patch.ts";
import { listQuery } from "./query.ts";
import { groupResource, groupStateFromBody, listResponse, SCIM_SCHEMA } from "./resources.ts";
import { settleOwedRoles } from "./roles.ts";

/**
 * Before any Group write answers, the role cut-offs an earlier one still
 * owes are recorded (scim/roles.ts settleOwedRoles): the directory's retry
 * of a write that answered 503 finds nothing left to change (or the Group
 * gone, 404), and its answer must not come first. 503 `unavailable` while
 * they cannot be. After the body is read: a malformed one changes nothing,
 * and is the directory's 400 whatever is owed.
 */
function settleOwed(c: Context<ScimApp>): Promise<void> {
  return orUnavailable(() => settleOwedRoles(c.env, c.var.scim.orgId));
}

async function answer(c: Context<ScimApp>, id: string, status: 200 | 201) {
  const stored = await requireGroup(drizzle(c.env.DB), c.var.scim.orgId, id);
  const resource = groupResource(authnConfig(c.env).issuer, stored);
  return scimJson(resource, status, status === 201 ? { Location: resource.meta.location } : undefined);
}

export function groupRoutes(app: Hono<ScimApp>): void {
  app.get("/Groups", async (c) => {
    const query = listQuery(new URL(c.req.url).searchParams, GROUP_FILTERS, SCIM_SCHEMA.group);
    const { groups, total } = await listGroups(drizzle(c.env.DB), c.var.scim.orgId, query);
    const issuer = authnConfig(c.env).issuer;
    return scimJson(
      listResponse(
        groups.map((g) => groupResource(issuer, g)),
        total,
        query.startIndex,
      ),
    );
  });

  app.get("/Groups/:id", (c) => answer(c, c.req.param("id"), 200));

  app.post("/Groups", async (c) => {
    const next = groupStateFromBody(await scimBody(c));
    await settleOwed(c);
    const id = crypto.randomUUID();
    await writeGroup(c.env, c.var.scim.orgId, id, undefined, next);
    return answer(c, id, 201);
  });

  // Each change applies to the group as it is when written, never to a read another request
  // overtook (group-store.ts changeGroup): directories send concurrent PATCHes of one group.
  app.put("/Groups/:id", async (c) => {
    const next = groupStateFromBody(await scimBody(c));
    await settleOwed(c);
    await changeGroup(c.env, c.var.scim.orgId, c.req.param("id"), () => next);
    return answer(c, c.req.param("id"), 200);
  });

  app.patch("/Groups/:id", async (c) => {
    const operations = patchOperations(await scimBody(c));
    requireGroupPatchWithinCap(operations);
    await settleOwed(c);
    await changeGroup(c.env, c.var.scim.orgId, c.req.param("id"), (current) => patchGroup(current, operations));
    return answer(c, c.req.param("id"), 200);
  });

  app.delete("/Groups/:id", async (c) => {
    await settleOwed(c);
    await changeGroup(c.env, c.var.scim.orgId, c.req.param("id"), () => undefined);
    return c.body(null, 204);
  });
}
