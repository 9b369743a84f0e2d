import { and, eq, gt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { McpGrantCover, McpGrantStatus } from "../../../../shared/contracts/mcp.ts";
import { newestFirstPage, type PageRequest } from "../../../../shared/db/keyset-page.ts";
import { mcpGrant } from "../../../../shared/db/mcp-schema.ts";

/**
 * MCP grants (`mcp_grant`): what an approved access request lets one agent
 * do at one server — tools and scopes, for its org or for one person —
 * until `expires_at` or a revocation. The gateway asks for an agent's live
 * grants (TokenService.mcpGrants) before it lets a sensitive tool through;
 * discovery (mcp/discovery.ts) lists what they open. Always read from D1:
 * a grant revoked a moment ago must not be honoured by the next read.
 */
export interface McpGrant {
  id: string;
  orgId: string;
  requestId: string | null;
  clientId: string;
  serverName: string;
  resource: string;
  scopes: string[];
  tools: string[];
  onBehalfOf: string;
  status: McpGrantStatus;
  expiresAt: Date;
  delegationGrantId: string | null;
  createdBy: string;
  createdAt: Date;
  revokedAt: Date | null;
  revokedBy: string | null;
}

export type NewMcpGrant = Omit<McpGrant, "id" | "status" | "createdAt" | "revokedAt" | "revokedBy">;

export function newGrantRow(input: NewMcpGrant, now: Date): typeof mcpGrant.$inferInsert {
  return {
    id: `mg_${crypto.randomUUID()}`,
    orgId: input.orgId,
    requestId: input.requestId,
    clientId: input.clientId,
    serverName: input.serverName,
    resource: input.resource,
    scopes: joinList(input.scopes),
    tools: joinList(input.tools),
    onBehalfOf: input.onBehalfOf,
    status: "active",
    expiresAt: input.expiresAt,
    delegationGrantId: input.delegationGrantId,
    createdBy: input.createdBy,
    createdAt: now,
    revokedAt: null,
    revokedBy: null,
  };
}

/** An agent's live grants at one server of its org. */
export async function liveMcpGrants(
  db: D1Database,
  query: { orgId: string; clientId: string; serverName: string },
  now = new Date(),
): Promise<McpGrant[]> {
  const rows = await drizzle(db)
    .select()
    .from(mcpGrant)
    .where(
      and(
        eq(mcpGrant.orgId, query.orgId),
        eq(mcpGrant.clientId, query.clientId),
        eq(mcpGrant.serverName, query.serverName),
        eq(mcpGrant.status, "active"),
        gt(mcpGrant.expiresAt, now),
      ),
    )
    .all();
  return rows.map(grantFromRow);
}

/** Every live grant of an agent in its org, for discovery. */
export async function liveGrantsOfClient(db: D1Database, orgId: string, clientId: string, now = new Date()) {
  const rows = await drizzle(db)
    .select()
    .from(mcpGrant)
    .where(
      and(
        eq(mcpGrant.orgId, orgId),
        eq(mcpGrant.clientId, clientId),
        eq(mcpGrant.status, "active"),
        gt(mcpGrant.expiresAt, now),
      ),
    )
    .all();
  return rows.map(grantFromRow);
}

/**
 * The grants of one server not yet expired, revoked ones too: removing the
 * server ends them (mcp/review.ts revokeServerGrants), and a removal whose
 * recording failed finds the ones it already marked revoked again.
 */
export async function unexpiredGrantsOfServer(
  db: D1Database,
  orgId: string,
  serverName: string,
  now = new Date(),
): Promise<McpGrant[]> {
  const rows = await drizzle(db)
    .select()
    .from(mcpGrant)
    .where(and(eq(mcpGrant.orgId, orgId), eq(mcpGrant.serverName, serverName), gt(mcpGrant.expiresAt, now)))
    .all();
  return rows.map(grantFromRow);
}

export function grantCover(grant: McpGrant): McpGrantCover {
  return {
    id: grant.id,
    tools: grant.tools,
    scopes: grant.scopes,
    onBehalfOf: grant.onBehalfOf,
    expiresAt: grant.expiresAt.getTime(),
  };
}

export async function listMcpGrants(
  db: D1Database,
  orgId: string,
  filter: { clientId?: string; status?: McpGrantStatus },
  page: PageRequest,
): Promise<McpGrant[]> {
  const rows = await newestFirstPage(
    drizzle(db).select().from(mcpGrant).$dynamic(),
    mcpGrant,
    page,
    eq(mcpGrant.orgId, orgId),
    filter.clientId !== undefined ? eq(mcpGrant.clientId, filter.clientId) : undefined,
    filter.status !== undefined ? eq(mcpGrant.status, filter.status) : undefined,
  ).all();
  return rows.map(grantFromRow);
}

export async function findMcpGrant(db: D1Database, orgId: string, id: string): Promise<McpGrant | undefined> {
  const row = await drizzle(db)
    .select()
    .from(mcpGrant)
    .where(and(eq(mcpGrant.orgId, orgId), eq(mcpGrant.id, id)))
    .get();
  return row ? grantFromRow(row) : undefined;
}

/**
 * Marks an active grant revoked; answers the grant as revoked when this call
 * revoked it, undefined when it was not active (revoking twice keeps the
 * first time and who did it). The row comes back from the write itself, so
 * no later read can fail between the write that decides who announces and
 * the announcement (mcp/review.ts).
 */
export async function markGrantRevoked(
  db: D1Database,
  orgId: string,
  id: string,
  by: string,
  now = new Date(),
): Promise<McpGrant | undefined> {
  const changed = await drizzle(db)
    .update(mcpGrant)
    .set({ status: "revoked", revokedAt: now, revokedBy: by })
    .where(and(eq(mcpGrant.orgId, orgId), eq(mcpGrant.id, id), eq(mcpGrant.status, "active")))
    .returning()
    .all();
  const row = changed[0];
  return row ? grantFromRow(row) : undefined;
}

export function grantFromRow(row: typeof mcpGrant.$inferSelect): McpGrant {
  return {
    id: row.id,
    orgId: row.orgId,
    requestId: row.requestId,
    clientId: row.clientId,
    serverName: row.serverName,
    resource: row.resource,
    scopes: splitList(row.scopes),
    tools: splitList(row.tools),
    onBehalfOf: row.onBehalfOf,
    status: row.status,
    expiresAt: row.expiresAt,
    delegationGrantId: row.delegationGrantId,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
    revokedBy: row.revokedBy,
  };
}

export function joinList(values: readonly string[]): string {
  return [...new Set(values)].join(" ");
}

export function splitList(value: string): string[] {
  return value.split(" ").filter(Boolean);
}
