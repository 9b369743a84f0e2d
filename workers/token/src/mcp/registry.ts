import { and, asc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import {
  DEMO_MCP_SERVER,
  type McpServerRoute,
  type McpServerStatus,
  type McpTool,
  type McpUpstream,
  mcpResource,
} from "../../../../shared/contracts/mcp.ts";
import { mcpServer } from "../../../../shared/db/mcp-schema.ts";
import { vaultProvider } from "../../../../shared/db/vault-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";

/**
 * Each org's MCP server registry (`mcp_server`), read from D1 — the strongly
 * consistent source the gateway asks through TokenService.mcpServer. The
 * demo server is in every org's registry without a row (DEMO_MCP_SERVER):
 * it is served by the gateway's own route, and its name is reserved.
 */
export interface McpServer extends McpServerRoute {
  id: string;
  description: string;
  owner: string;
  /** The org's vault provider (its id) whose saved token the upstream gets; null: none. */
  savedConnectionProvider: string | null;
  /** The demo: listed in every org, never stored, changed or removed. */
  builtIn: boolean;
  createdAt: Date | null;
  updatedAt: Date | null;
}

export interface McpServerFields {
  upstream: McpUpstream;
  scopes: string[];
  tools: McpTool[];
  description: string;
  owner: string;
  status: McpServerStatus;
  /** The org's vault provider (its id) whose saved token the upstream gets; null: none. */
  savedConnectionProvider: string | null;
}

export function demoServer(issuer: string, orgId: string): McpServer {
  return {
    id: "builtin-demo",
    orgId,
    name: DEMO_MCP_SERVER.name,
    resource: mcpResource(issuer, DEMO_MCP_SERVER.name),
    upstream: DEMO_MCP_SERVER.upstream,
    scopes: [...DEMO_MCP_SERVER.scopes],
    tools: DEMO_MCP_SERVER.tools.map((tool) => ({ ...tool })),
    description: DEMO_MCP_SERVER.description,
    owner: DEMO_MCP_SERVER.owner,
    status: "active",
    savedConnectionProvider: null,
    builtIn: true,
    createdAt: null,
    updatedAt: null,
  };
}

/** The org's servers, the demo first, then by name. */
export async function listMcpServers(db: D1Database, issuer: string, orgId: string): Promise<McpServer[]> {
  const rows = await drizzle(db)
    .select()
    .from(mcpServer)
    .where(eq(mcpServer.orgId, orgId))
    .orderBy(asc(mcpServer.name))
    .all();
  return [demoServer(issuer, orgId), ...rows.map((row) => fromRow(row))];
}

/** One server of the org by name (the demo included), or undefined. */
export async function findMcpServer(
  db: D1Database,
  issuer: string,
  orgId: string,
  name: string,
): Promise<McpServer | undefined> {
  if (name === DEMO_MCP_SERVER.name) return demoServer(issuer, orgId);
  const row = await drizzle(db)
    .select()
    .from(mcpServer)
    .where(and(eq(mcpServer.orgId, orgId), eq(mcpServer.name, name)))
    .get();
  return row ? fromRow(row) : undefined;
}

/**
 * Whether any org has an active server of this name (the demo always): the
 * gateway's metadata question. A server that names a vault provider carries
 * the provider's resource, read with it (the same org's provider only), so
 * the gateway asks the vault for that resource's saved token.
 */
export async function activeMcpServersNamed(db: D1Database, issuer: string, name: string): Promise<McpServer[]> {
  if (name === DEMO_MCP_SERVER.name) return [demoServer(issuer, "")];
  const rows = await drizzle(db)
    .select({ server: mcpServer, providerResource: vaultProvider.resource })
    .from(mcpServer)
    .leftJoin(
      vaultProvider,
      and(eq(vaultProvider.id, mcpServer.savedConnection), eq(vaultProvider.orgId, mcpServer.orgId)),
    )
    .where(and(eq(mcpServer.name, name), eq(mcpServer.status, "active")))
    .all();
  return rows.map((row) => fromRow(row.server, row.providerResource));
}

export async function createMcpServer(
  db: D1Database,
  issuer: string,
  orgId: string,
  name: string,
  fields: McpServerFields,
): Promise<McpServer> {
  if (name === DEMO_MCP_SERVER.name) {
    throw new HttpError("conflict", `ERR_MCP_NAME_RESERVED: ${name} is the built-in demo server`);
  }
  const now = new Date();
  const row: typeof mcpServer.$inferInsert = {
    id: `mcps_${crypto.randomUUID()}`,
    orgId,
    name,
    resource: mcpResource(issuer, name),
    createdAt: now,
    updatedAt: now,
    ...toColumns(fields),
  };
  // The unique (org_id, name) index decides a race between two registrations.
  const inserted = await drizzle(db).insert(mcpServer).values(row).onConflictDoNothing().returning().all();
  const created = inserted[0];
  if (!created) throw new HttpError("conflict", `ERR_MCP_SERVER_EXISTS: the org already has a server named ${name}`);
  return fromRow(created);
}

/**
 * Writes `fields` (the whole row, merged from what was read) only if the row
 * is still as it was read, by its `updated_at`; undefined when it changed
 * since or is gone (the caller reads it again). Each write moves
 * `updated_at` strictly forward, even within one millisecond, so no two
 * writes leave the same value for a stale read to match.
 */
export async function updateMcpServerIfUnchanged(
  db: D1Database,
  read: Pick<McpServer, "orgId" | "name" | "updatedAt">,
  fields: McpServerFields,
): Promise<McpServer | undefined> {
  refuseBuiltIn(read.name);
  const previous = read.updatedAt;
  if (previous === null) return undefined;
  const now = Date.now();
  const updatedAt = new Date(previous.getTime() >= now ? previous.getTime() + 1 : now);
  const updated = await drizzle(db)
    .update(mcpServer)
    .set({ ...toColumns(fields), updatedAt })
    .where(and(eq(mcpServer.orgId, read.orgId), eq(mcpServer.name, read.name), eq(mcpServer.updatedAt, previous)))
    .returning()
    .all();
  return updated[0] ? fromRow(updated[0]) : undefined;
}

/** Removes the server; the gateway stops fronting it within its cache bound (workers/gateway/src/mcp/). */
export async function deleteMcpServer(db: D1Database, orgId: string, name: string): Promise<McpServer | undefined> {
  refuseBuiltIn(name);
  const deleted = await drizzle(db)
    .delete(mcpServer)
    .where(and(eq(mcpServer.orgId, orgId), eq(mcpServer.name, name)))
    .returning()
    .all();
  return deleted[0] ? fromRow(deleted[0]) : undefined;
}

function refuseBuiltIn(name: string): void {
  if (name === DEMO_MCP_SERVER.name) {
    throw new HttpError("conflict", "ERR_MCP_SERVER_BUILTIN: the demo server is part of every org and cannot change");
  }
}

function toColumns(fields: McpServerFields) {
  return {
    upstreamKind: "binding" in fields.upstream ? ("binding" as const) : ("url" as const),
    upstream: "binding" in fields.upstream ? fields.upstream.binding : fields.upstream.url,
    scopes: [...new Set(fields.scopes)].join(" "),
    tools: JSON.stringify(fields.tools),
    description: fields.description,
    owner: fields.owner,
    status: fields.status,
    savedConnection: fields.savedConnectionProvider,
  };
}

/** `providerResource`: the named vault provider's resource where it was read (activeMcpServersNamed). */
function fromRow(row: typeof mcpServer.$inferSelect, providerResource: string | null = null): McpServer {
  return {
    id: row.id,
    orgId: row.orgId,
    name: row.name,
    resource: row.resource,
    upstream: row.upstreamKind === "binding" ? { binding: row.upstream as "DEMO" } : { url: row.upstream },
    scopes: row.scopes.split(" ").filter(Boolean),
    tools: JSON.parse(row.tools) as McpTool[],
    description: row.description,
    owner: row.owner,
    status: row.status,
    savedConnectionProvider: row.savedConnection,
    // A provider deleted since registration leaves "": no connection has it, so nothing is sent (fail closed).
    ...(row.savedConnection ? { savedConnection: { resource: providerResource ?? "" } } : {}),
    builtIn: false,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** What the gateway gets over RPC: the route, nothing an operator wrote for people. */
export function serverRoute(server: McpServer): McpServerRoute {
  return {
    orgId: server.orgId,
    name: server.name,
    resource: server.resource,
    upstream: server.upstream,
    scopes: server.scopes,
    tools: server.tools,
    status: server.status,
    ...(server.savedConnection ? { savedConnection: server.savedConnection } : {}),
  };
}
