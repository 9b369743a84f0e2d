import type { McpGrantCover, McpGrantQuery, McpRegistryRpc, McpServerRoute } from "../../../../shared/contracts/mcp.ts";

export interface RegistryCacheSettings {
  /**
   * How long an answer is reused: the revocation staleness bound
   * (REVOCATION_MAX_STALENESS_MS), so a disabled server or a revoked grant
   * stops working at the gateway within the same bound as a revoked token.
   */
  maxAgeMs: number;
  /** Entries kept per isolate (least recently used go first). */
  maxEntries: number;
}

export const REGISTRY_CACHE_MAX_ENTRIES = 10_000;

interface Entry<T> {
  value: Promise<T>;
  at: number;
}

/**
 * The gateway's view of the MCP registry and of agents' live grants,
 * read over RPC from the token Worker (McpRegistryService), which reads
 * D1 — the strongly consistent source. Why RPC and not a KV snapshot: KV
 * propagation takes up to a minute and cannot be bounded, and a disabled
 * server or a revoked grant must stop within the revocation bound; why not
 * D1 from here: the token Worker owns the tables and their meaning (the
 * built-in demo, expiry), and one reader keeps them one shape. Each answer
 * is kept in the isolate for at most `maxAgeMs`; concurrent misses share
 * one call. A failed call is not cached (the caller fails closed).
 */
export class McpRegistryCache {
  private readonly servers = new Map<string, Entry<McpServerRoute[]>>();
  private readonly grants = new Map<string, Entry<McpGrantCover[]>>();

  constructor(
    private readonly rpc: McpRegistryRpc,
    private readonly settings: RegistryCacheSettings,
  ) {}

  serversNamed(name: string): Promise<McpServerRoute[]> {
    return this.cached(this.servers, name, () => this.rpc.serversNamed(name));
  }

  liveGrants(query: McpGrantQuery): Promise<McpGrantCover[]> {
    const key = JSON.stringify([query.orgId, query.clientId, query.server]);
    return this.cached(this.grants, key, () => this.rpc.liveGrants(query));
  }

  private cached<T>(map: Map<string, Entry<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = map.get(key);
    if (hit && now - hit.at < this.settings.maxAgeMs) {
      map.delete(key);
      map.set(key, hit);
      return hit.value;
    }
    const value = load();
    const entry = { value, at: now };
    map.set(key, entry);
    value.catch(() => {
      if (map.get(key) === entry) map.delete(key);
    });
    while (map.size > this.settings.maxEntries) {
      const oldest = map.keys().next().value;
      if (oldest === undefined) break;
      map.delete(oldest);
    }
    return value;
  }
}

/**
 * The token Worker's McpRegistryService entrypoint (wrangler.toml
 * `MCP_REGISTRY`). `wrangler types` sees a plain Fetcher: the contract gives
 * the binding its shape, as config.ts does for TOKEN_SERVICE.
 */
export type McpRegistryBinding = Service<McpRegistryRpc & Rpc.WorkerEntrypointBranded>;

export function mcpRegistryBinding(env: object): McpRegistryBinding {
  return (env as { MCP_REGISTRY: McpRegistryBinding }).MCP_REGISTRY;
}
