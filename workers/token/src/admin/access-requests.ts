import type { Context } from "hono";
import { ACCESS_REQUEST_STATUS, MAX_GRANT_TTL_SECONDS, MCP_GRANT_STATUS } from "../../../../shared/contracts/mcp.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { tokenConfig } from "../config.ts";
import { findAccessRequest, listAccessRequests } from "../mcp/access-requests.ts";
import { listMcpGrants } from "../mcp/grants.ts";
import { setWebhookUrl, webhookUrl } from "../mcp/notify.ts";
import { publicHttpsUrl } from "../mcp/public-url.ts";
import { approve, deny, type ReviewDeps, revokeGrant } from "../mcp/review.ts";
import { accessRequestView, grantView } from "../mcp/views.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import { pageOf, readPage } from "./page.ts";
import { queryOneOf } from "./query.ts";
import { route } from "./route.ts";
import type { AdminApp, AdminEnv } from "./types.ts";
import { onlyFields, optionalInteger, optionalList, optionalString, requiredString } from "./validate.ts";

const REQUESTS = "/orgs/:org/access-requests";
const GRANTS = "/orgs/:org/mcp-grants";
const WEBHOOK = "/orgs/:org/access-webhook";

/**
 * The operator's side of agent access review (mcp/review.ts).
 *
 * - GET `/orgs/{org}/access-requests?status=&client_id=&limit=&cursor=` →
 *   `{ access_requests: [...], next_cursor }`, newest first, a page at a
 *   time (admin/page.ts; overdue pending ones are marked `expired` first).
 * - GET `…/access-requests/{id}` → the request; 404 `not_found`.
 * - POST `…/access-requests/{id}/approve` `{ tools?, scopes?, ttl_seconds?,
 *   note? }` → `{ access_request, grant }`: the asked-for tools, scopes
 *   and TTL, or fewer (400 `invalid_body` for anything not asked for); 409
 *   `conflict` `ERR_ACCESS_REQUEST_DECIDED` when it is no longer pending
 *   (decided, or expired).
 * - POST `…/access-requests/{id}/deny` `{ note? }` → `{ access_request }`; 409 likewise.
 * - GET `/orgs/{org}/mcp-grants?client_id=&status=&limit=&cursor=` →
 *   `{ grants: [...], next_cursor }`, newest first, a page at a time.
 * - DELETE `…/mcp-grants/{id}` → the grant, revoked (a revocation event,
 *   recorded before this answers); 404 `not_found`.
 * - PUT `/orgs/{org}/access-webhook` `{ url }` → `{ url }` (https, public);
 *   GET → `{ url }` (null when none); DELETE → `{ url: null }`.
 */
export function accessRequestRoutes(admin: AdminApp): void {
  route(
    admin,
    "get",
    REQUESTS,
    { summary: "Agents' access requests, newest first (overdue pending ones read as expired)", orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "access_request.list" });
      const page = readPage(c, ["status", "client_id"]);
      const status = queryOneOf(c.req.query("status"), "status", ACCESS_REQUEST_STATUS);
      const clientId = c.req.query("client_id");
      const filter = { ...(status ? { status } : {}), ...(clientId ? { clientId } : {}) };
      const { items, next_cursor } = pageOf(
        await listAccessRequests(c.env.DB, orgId, filter, page),
        page.limit,
        (r) => ({
          createdAt: r.createdAt.getTime(),
          id: r.id,
        }),
      );
      return c.json({ access_requests: items.map(accessRequestView), next_cursor });
    },
  );

  route(admin, "get", `${REQUESTS}/:id`, { summary: "One access request", orgAdmins: "org" }, async (c) => {
    const orgId = await requireOrg(c);
    const id = c.req.param("id");
    auditDetail(c, { action: "access_request.show", request_id: id });
    return c.json(accessRequestView(await requireRequest(c, orgId, id)));
  });

  route(
    admin,
    "post",
    `${REQUESTS}/:id/approve`,
    {
      summary: "Approve a pending request, optionally narrowing tools, scopes and TTL: creates a grant",
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const id = c.req.param("id");
      auditDetail(c, { action: "access_request.approve", request_id: id });
      const body = await readJsonObject(c);
      onlyFields(body, ["tools", "scopes", "ttl_seconds", "note"]);
      const tools = optionalList(body, "tools", { maxItems: 64, itemMax: 128 });
      const scopes = optionalList(body, "scopes", { maxItems: 32, itemMax: 128 });
      const ttlSeconds = optionalInteger(body, "ttl_seconds", { min: 60, max: MAX_GRANT_TTL_SECONDS });
      const note = optionalString(body, "note", { max: 1024 }) ?? null;
      const request = await requireRequest(c, orgId, id);
      const result = await approve(reviewDeps(c), request, {
        ...(tools != null ? { tools } : {}),
        ...(scopes != null ? { scopes } : {}),
        ...(ttlSeconds != null ? { ttlSeconds } : {}),
        note,
        decidedBy: c.get("operator").subject,
      });
      auditDetail(c, { grant_id: result.grant.id, client_id: request.clientId });
      return c.json({ access_request: accessRequestView(result.request), grant: grantView(result.grant) });
    },
  );

  route(admin, "post", `${REQUESTS}/:id/deny`, { summary: "Deny a pending request", orgAdmins: "org" }, async (c) => {
    const orgId = await requireOrg(c);
    const id = c.req.param("id");
    auditDetail(c, { action: "access_request.deny", request_id: id });
    const body = await readJsonObject(c);
    onlyFields(body, ["note"]);
    const note = optionalString(body, "note", { max: 1024 }) ?? null;
    const request = await requireRequest(c, orgId, id);
    const denied = await deny(reviewDeps(c), request, { decidedBy: c.get("operator").subject, note });
    return c.json({ access_request: accessRequestView(denied) });
  });

  route(admin, "get", GRANTS, { summary: "The org's MCP grants", orgAdmins: "org" }, async (c) => {
    const orgId = await requireOrg(c);
    auditDetail(c, { action: "mcp_grant.list" });
    const page = readPage(c, ["status", "client_id"]);
    const status = queryOneOf(c.req.query("status"), "status", MCP_GRANT_STATUS);
    const clientId = c.req.query("client_id");
    const filter = { ...(status ? { status } : {}), ...(clientId ? { clientId } : {}) };
    const { items, next_cursor } = pageOf(await listMcpGrants(c.env.DB, orgId, filter, page), page.limit, (g) => ({
      createdAt: g.createdAt.getTime(),
      id: g.id,
    }));
    return c.json({ grants: items.map(grantView), next_cursor });
  });

  route(
    admin,
    "delete",
    `${GRANTS}/:id`,
    { summary: "Revoke an MCP grant (a revocation event)", orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      const id = c.req.param("id");
      auditDetail(c, { action: "mcp_grant.revoke", grant_id: id });
      const grant = await revokeGrant(reviewDeps(c), orgId, id, c.get("operator").subject);
      if (!grant) throw new HttpError("not_found", "no such grant in this org");
      return c.json(grantView(grant));
    },
  );

  route(admin, "get", WEBHOOK, { summary: "The org's access-request webhook", orgAdmins: "org" }, async (c) => {
    const orgId = await requireOrg(c);
    auditDetail(c, { action: "access_webhook.show" });
    return c.json({ url: (await webhookUrl(c.env.DB, orgId)) ?? null });
  });

  route(
    admin,
    "put",
    WEBHOOK,
    { summary: "Set the org's access-request webhook (signed JWS POSTs)", orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "access_webhook.set" });
      const body = await readJsonObject(c);
      onlyFields(body, ["url"]);
      const url = publicHttpsUrl("url", requiredString(body, "url", { max: 1024 }));
      await setWebhookUrl(c.env.DB, orgId, url);
      return c.json({ url });
    },
  );

  route(
    admin,
    "delete",
    WEBHOOK,
    { summary: "Remove the org's access-request webhook", orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "access_webhook.delete" });
      await setWebhookUrl(c.env.DB, orgId, null);
      return c.json({ url: null });
    },
  );
}

function reviewDeps(c: Context<AdminEnv>): ReviewDeps {
  return {
    env: c.env,
    config: tokenConfig(c.env),
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  };
}

async function requireRequest(c: Context<AdminEnv>, orgId: string, id: string) {
  const request = await findAccessRequest(c.env.DB, orgId, id);
  if (!request) throw new HttpError("not_found", "no such access request in this org");
  return request;
}
