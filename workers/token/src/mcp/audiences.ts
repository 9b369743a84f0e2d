import { and, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { isMcpResource } from "../../../../shared/contracts/mcp.ts";
import { mcpServer } from "../../../../shared/db/mcp-schema.ts";
import type { TokenConfig } from "../config.ts";

/**
 * The resource identifiers of MCP servers the org registered and keeps
 * active, among the audiences a client holds: the issuer serves them on top
 * of ALLOWED_AUDIENCES (clients/guardrails.ts), so a registered server can
 * be given tokens without redeploying, and a server removed or disabled
 * gets none from the next mint. Read from D1 only when the client holds
 * such an audience, so other mints pay nothing.
 */
export async function registeredMcpAudiences(
  db: D1Database,
  config: TokenConfig,
  orgId: string,
  audiences: readonly string[],
): Promise<string[]> {
  const candidates = audiences.filter((a) => !config.allowedAudiences.has(a) && isMcpResource(config.issuer, a));
  if (candidates.length === 0) return [];
  const rows = await drizzle(db)
    .select({ resource: mcpServer.resource })
    .from(mcpServer)
    .where(and(eq(mcpServer.orgId, orgId), eq(mcpServer.status, "active"), inArray(mcpServer.resource, candidates)))
    .all();
  return rows.map((r) => r.resource);
}
