import { and, eq, gt, lte } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import {
  ACCESS_REQUEST_PENDING_SECONDS,
  type AccessRequestStatus,
  DEMO_MCP_SERVER,
  MAX_PENDING_ACCESS_REQUESTS,
  ON_BEHALF_OF_ORG,
} from "../../../../shared/contracts/mcp.ts";
import { newestFirstPage, type PageRequest } from "../../../../shared/db/keyset-page.ts";
import { mcpAccessRequest, mcpGrant } from "../../../../shared/db/mcp-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { grantFromRow, joinList, type McpGrant, newGrantRow, splitList } from "./grants.ts";

/**
 * Access requests (`mcp_access_request`): an agent asks for tools and
 * scopes of one of its org's MCP servers, for its org or for one person,
 * for a while, and says why. Operators approve (optionally narrowing) or
 * deny; a request nobody decides expires after ACCESS_REQUEST_PENDING_SECONDS.
 *
 * Expiry is lazy: every read first marks the org's overdue pending
 * requests `expired`, and a decision is a conditional UPDATE on
 * `status = 'pending' AND expires_at > now`, so an overdue request can
 * never be approved, and of two operators deciding at once exactly one wins.
 */
export interface AccessRequest {
  id: string;
  orgId: string;
  clientId: string;
  serverName: string;
  resource: string;
  scopes: string[];
  tools: string[];
  onBehalfOf: string;
  reason: string;
  ttlSeconds: number;
  status: AccessRequestStatus;
  createdAt: Date;
  expiresAt: Date;
  decidedBy: string | null;
  decidedAt: Date | null;
  decisionNote: string | null;
  grantId: string | null;
}

export interface NewAccessRequest {
  orgId: string;
  clientId: string;
  serverName: string;
  resource: string;
  scopes: readonly string[];
  tools: readonly string[];
  onBehalfOf: string;
  reason: string;
  ttlSeconds: number;
}

export async function createAccessRequest(db: D1Database, input: NewAccessRequest): Promise<AccessRequest> {
  const now = new Date();
  const row = {
    id: `ar_${crypto.randomUUID()}`,
    orgId: input.orgId,
    clientId: input.clientId,
    serverName: input.serverName,
    resource: input.resource,
    scopes: joinList(input.scopes),
    tools: joinList(input.tools),
    onBehalfOf: input.onBehalfOf,
    reason: input.reason,
    ttlSeconds: input.ttlSeconds,
    status: "pending" as const,
    createdAt: now,
    expiresAt: new Date(now.getTime() + ACCESS_REQUEST_PENDING_SECONDS * 1000),
    decidedBy: null,
    decidedAt: null,
    decisionNote: null,
    grantId: null,
  };
  // Counted in the insert's own statement, so parallel requests cannot pass the cap together.
  const inserted = await db
    .prepare(
      `INSERT INTO mcp_access_request (id, org_id, client_id, server_name, resource, scopes, tools, on_behalf_of, reason,
         ttl_seconds, status, created_at, expires_at)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?
       WHERE (SELECT count(*) FROM mcp_access_request
              WHERE org_id = ? AND client_id = ? AND status = 'pending' AND expires_at > ?) < ?`,
    )
    .bind(
      row.id,
      row.orgId,
      row.clientId,
      row.serverName,
      row.resource,
      row.scopes,
      row.tools,
      row.onBehalfOf,
      row.reason,
      row.ttlSeconds,
      now.getTime(),
      row.expiresAt.getTime(),
      row.orgId,
      row.clientId,
      now.getTime(),
      MAX_PENDING_ACCESS_REQUESTS,
    )
    .run();
  if (inserted.meta.changes !== 1) {
    throw new HttpError(
      "rate_limited",
      `ERR_ACCESS_REQUESTS_PENDING: this agent has ${MAX_PENDING_ACCESS_REQUESTS} requests awaiting a decision; ask again once one is decided or expires`,
    );
  }
  return fromRow(row);
}

/** Marks the org's pending requests whose time is up `expired`; returns the ones it changed. */
export async function expireOverdueRequests(db: D1Database, orgId: string, now = new Date()): Promise<AccessRequest[]> {
  const rows = await drizzle(db)
    .update(mcpAccessRequest)
    .set({ status: "expired" })
    .where(
      and(
        eq(mcpAccessRequest.orgId, orgId),
        eq(mcpAccessRequest.status, "pending"),
        lte(mcpAccessRequest.expiresAt, now),
      ),
    )
    .returning()
    .all();
  return rows.map(fromRow);
}

/**
 * Marks the pending requests for one server `expired`: the org is removing
 * it, and an approval afterwards would leave a grant naming the server by
 * name, for whatever is registered under the name next.
 */
export async function expireServerRequests(db: D1Database, orgId: string, serverName: string): Promise<void> {
  await drizzle(db)
    .update(mcpAccessRequest)
    .set({ status: "expired" })
    .where(
      and(
        eq(mcpAccessRequest.orgId, orgId),
        eq(mcpAccessRequest.serverName, serverName),
        eq(mcpAccessRequest.status, "pending"),
      ),
    )
    .run();
}

export async function listAccessRequests(
  db: D1Database,
  orgId: string,
  filter: { status?: AccessRequestStatus; clientId?: string },
  page: PageRequest,
): Promise<AccessRequest[]> {
  await expireOverdueRequests(db, orgId);
  const rows = await newestFirstPage(
    drizzle(db).select().from(mcpAccessRequest).$dynamic(),
    mcpAccessRequest,
    page,
    eq(mcpAccessRequest.orgId, orgId),
    filter.status !== undefined ? eq(mcpAccessRequest.status, filter.status) : undefined,
    filter.clientId !== undefined ? eq(mcpAccessRequest.clientId, filter.clientId) : undefined,
  ).all();
  return rows.map(fromRow);
}

export async function findAccessRequest(db: D1Database, orgId: string, id: string): Promise<AccessRequest | undefined> {
  await expireOverdueRequests(db, orgId);
  const row = await drizzle(db)
    .select()
    .from(mcpAccessRequest)
    .where(and(eq(mcpAccessRequest.orgId, orgId), eq(mcpAccessRequest.id, id)))
    .get();
  return row ? fromRow(row) : undefined;
}

/** What an operator approves: the request's own tools, scopes and TTL, or fewer. */
export interface Approval {
  tools: readonly string[];
  scopes: readonly string[];
  ttlSeconds: number;
  decidedBy: string;
  note: string | null;
}

/**
 * Approves a pending request and creates its grant (and, for a person, the
 * delegation grant token exchange honours: grants/delegation-grants.ts) in
 * one D1 batch, which D1 runs as a transaction. Its first statement is the
 * conditional decision; the inserts that follow happen only if it named
 * this grant, so if another decision or expiry got there first nothing is
 * written and the answer is 409 `conflict` `ERR_ACCESS_REQUEST_DECIDED`.
 */
export async function approveAccessRequest(
  db: D1Database,
  request: AccessRequest,
  approval: Approval,
): Promise<{ request: AccessRequest; grant: McpGrant }> {
  const now = new Date();
  const expiresAt = new Date(now.getTime() + approval.ttlSeconds * 1000);
  const forPerson = request.onBehalfOf !== ON_BEHALF_OF_ORG && approval.scopes.length > 0;
  const row = newGrantRow(
    {
      orgId: request.orgId,
      requestId: request.id,
      clientId: request.clientId,
      serverName: request.serverName,
      resource: request.resource,
      scopes: [...approval.scopes],
      tools: [...approval.tools],
      onBehalfOf: request.onBehalfOf,
      expiresAt,
      delegationGrantId: forPerson ? `dg_${crypto.randomUUID()}` : null,
      createdBy: approval.decidedBy,
    },
    now,
  );
  const grant = grantFromRow(row as typeof mcpGrant.$inferSelect);
  const decidedHere = "EXISTS (SELECT 1 FROM mcp_access_request WHERE id = ? AND grant_id = ?)";
  const statements = [
    db
      .prepare(
        `UPDATE mcp_access_request SET status = 'approved', decided_by = ?, decided_at = ?, decision_note = ?, grant_id = ?
         WHERE org_id = ? AND id = ? AND status = 'pending' AND expires_at > ?
           AND (server_name = ? OR EXISTS (SELECT 1 FROM mcp_server s
                WHERE s.org_id = mcp_access_request.org_id AND s.name = mcp_access_request.server_name))`,
      )
      .bind(
        approval.decidedBy,
        now.getTime(),
        approval.note,
        grant.id,
        request.orgId,
        request.id,
        now.getTime(),
        DEMO_MCP_SERVER.name,
      ),
    db
      .prepare(
        `INSERT INTO mcp_grant (id, org_id, request_id, client_id, server_name, resource, scopes, tools, on_behalf_of,
           status, expires_at, delegation_grant_id, created_by, created_at)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ? WHERE ${decidedHere}`,
      )
      .bind(
        grant.id,
        grant.orgId,
        grant.requestId,
        grant.clientId,
        grant.serverName,
        grant.resource,
        joinList(grant.scopes),
        joinList(grant.tools),
        grant.onBehalfOf,
        expiresAt.getTime(),
        grant.delegationGrantId,
        grant.createdBy,
        now.getTime(),
        request.id,
        grant.id,
      ),
  ];
  if (grant.delegationGrantId) {
    statements.push(
      db
        .prepare(
          `INSERT INTO delegation_grant (id, org_id, subject, actor_client_id, scopes, audiences, status, expires_at,
             created_by, created_at)
           SELECT ?, ?, ?, ?, ?, ?, 'active', ?, ?, ? WHERE ${decidedHere}`,
        )
        .bind(
          grant.delegationGrantId,
          grant.orgId,
          grant.onBehalfOf,
          grant.clientId,
          joinList(grant.scopes),
          grant.resource,
          expiresAt.getTime(),
          grant.createdBy,
          now.getTime(),
          request.id,
          grant.id,
        ),
    );
  }
  const [decision] = await db.batch(statements);
  if (!decision || decision.meta.changes !== 1) {
    // Still pending: its server is gone (removed while this was approved), and a grant would name
    // it for whatever is registered under the name next (mcp/review.ts revokeServerGrants).
    const current = await findAccessRequest(db, request.orgId, request.id);
    if (current?.status === "pending") {
      throw new HttpError("conflict", "ERR_MCP_SERVER_UNKNOWN: the request's server is no longer registered");
    }
    throw decidedAlready();
  }
  const updated = await findAccessRequest(db, request.orgId, request.id);
  if (!updated) throw decidedAlready();
  return { request: updated, grant };
}

export async function denyAccessRequest(
  db: D1Database,
  request: AccessRequest,
  decision: { decidedBy: string; note: string | null },
): Promise<AccessRequest> {
  const now = new Date();
  const decided = await drizzle(db)
    .update(mcpAccessRequest)
    .set({ status: "denied", decidedBy: decision.decidedBy, decidedAt: now, decisionNote: decision.note })
    .where(pendingAndDue(request, now))
    .returning()
    .all();
  if (!decided[0]) throw decidedAlready();
  return fromRow(decided[0]);
}

function pendingAndDue(request: AccessRequest, now: Date) {
  return and(
    eq(mcpAccessRequest.orgId, request.orgId),
    eq(mcpAccessRequest.id, request.id),
    eq(mcpAccessRequest.status, "pending"),
    // An overdue request is not decided, even before a read has marked it expired.
    gt(mcpAccessRequest.expiresAt, now),
  );
}

function decidedAlready(): HttpError {
  return new HttpError("conflict", "ERR_ACCESS_REQUEST_DECIDED: the request is no longer pending");
}

function fromRow(row: typeof mcpAccessRequest.$inferSelect): AccessRequest {
  return {
    id: row.id,
    orgId: row.orgId,
    clientId: row.clientId,
    serverName: row.serverName,
    resource: row.resource,
    scopes: splitList(row.scopes),
    tools: splitList(row.tools),
    onBehalfOf: row.onBehalfOf,
    reason: row.reason,
    ttlSeconds: row.ttlSeconds,
    status: row.status,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    decidedBy: row.decidedBy,
    decidedAt: row.decidedAt,
    decisionNote: row.decisionNote,
    grantId: row.grantId,
  };
}
