import { WorkerEntrypoint } from "cloudflare:workers";
import type { McpGrantCover, McpGrantQuery, McpRegistryRpc, McpServerRoute } from "../../../../shared/contracts/mcp.ts";
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

  async liveGrants(query: McpGrantQuery): Promise<McpGrantCover[]> {
    const { orgId, clientId, server } = query ?? {};
    if (typeof orgId !== "string" || typeof clientId !== "string" || typeof server !== "string") return [];
    const grants = await liveMcpGrants(this.env.DB, { orgId, clientId, serverName: server });
    return grants.map(grantCover);
  }
}
