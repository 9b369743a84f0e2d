/**
 * /scim/v2/Groups (RFC 7644 §3.3–§3.6) for the calling token's org only;
 * scim/roles.ts says what a Group means for its members' org roles.
 */
import { drizzle } from "drizzle-orm/d1";
import type { Context, Hono } from "hono";
import { authnConfig } from "../config.ts";
import type { ScimApp } from "./authenticate.ts";
import { orUnavailable } from "./deprovision.ts";
import { projectionOf, returnsAttribute } from "./attribute-projection.ts";
import { changeGroup, GROUP_FILTERS, groupAnswer, listGroups, writeGroup } from "./group-store.ts";
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

/**
 * Whether this request's answer returns members (RFC 7644 §3.4.2.5, §3.9: reads and the answers of
 * writes alike); when not, their rows are not read. The projection was read and checked before
 * the handler ran (attribute-projection.ts), which shapes the answer itself.
 */
function returnsMembers(c: Context<ScimApp>): boolean {
  return returnsAttribute(projectionOf(new URL(c.req.url).searchParams), SCIM_SCHEMA.group, "members");
}

async function answer(c: Context<ScimApp>, id: string, status: 200 | 201) {
  const stored = await groupAnswer(drizzle(c.env.DB), c.var.scim.orgId, id, returnsMembers(c));
  const resource = groupResource(authnConfig(c.env).issuer, stored);
  return scimJson(resource, status, status === 201 ? { Location: resource.meta.location } : undefined);
}

export function groupRoutes(app: Hono<ScimApp>): void {
  app.get("/Groups", async (c) => {
    const query = listQuery(new URL(c.req.url).searchParams, GROUP_FILTERS, SCIM_SCHEMA.group);
    const { groups, total } = await listGroups(drizzle(c.env.DB), c.var.scim.orgId, query, returnsMembers(c));
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
