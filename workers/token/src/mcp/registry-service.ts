import { WorkerEntrypoint } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import {
  DEMO_MCP_SERVER,
  type McpGrantCover,
  type McpGrantQuery,
  type McpRegistryRpc,
  type McpServerRoute,
} from "../../../../shared/contracts/mcp.ts";
import { mcpServer } from "../../../../shared/db/mcp-schema.ts";
import { tokenConfig } from "../config.ts";
import { grantCover, liveMcpGrants } from "./grants.ts";
import { activeMcpServersNamed, serverRoute } from "./registry.ts";

/**
 * The registry as the gateway reads it (shared/contracts/mcp.ts
 * McpRegistryRpc), over a service binding with `entrypoint =
 * "McpRegistryService"`; never reachable from the internet. Every answer is
 * read from D1 — the strongly consistent source — and the gateway keeps it
 * at most its revocation staleness bound (workers/gateway/src/mcp/).
 */
export class McpRegistryService extends WorkerEntrypoint<TokenEnv> implements McpRegistryRpc {
  async serversNamed(name: string): Promise<McpServerRoute[]> {
    if (typeof name !== "string" || name.length > 63) return [];
    const servers = await activeMcpServersNamed(this.env.DB, tokenConfig(this.env).issuer, name);
    return servers.map(serverRoute);
  }

  async activeServerNames(): Promise<string[]> {
    // Names only (mcp_server_name_idx): the list is as long as what orgs registered, never what callers send.
    const rows = await drizzle(this.env.DB)
      .selectDistinct({ name: mcpServer.name })
      .from(mcpServer)
      .where(eq(mcpServer.status, "active"))
      .all();
    return [DEMO_MCP_SERVER.name, ...rows.map((row) => row.name)];
  }

  async liveGrants(query: McpGrantQuery): Promise<McpGrantCover[]> {
    const { orgId, clientId, server } = query ?? {};
    if (typeof orgId !== "string" || typeof clientId !== "string" || typeof server !== "string") return [];
    const grants = await liveMcpGrants(this.env.DB, { orgId, clientId, serverName: server });
    return grants.map(grantCover);
  }
}
