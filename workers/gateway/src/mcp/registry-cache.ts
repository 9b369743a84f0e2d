import type { McpGrantCover, McpGrantQuery, McpRegistryRpc, McpServerRoute } from "../../../../shared/contracts/mcp.ts";
import { SingleFlight } from "../../../../shared/isolate/single-flight.ts";

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
  value: T;
  /** When the call that answered it was made. */
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
 * one call (shared/isolate/single-flight.ts). A failed call is not cached
 * (the caller fails closed).
 *
 * A name is asked for only if it is in the list of active names
 * (`activeServerNames`), itself kept for at most `maxAgeMs`: `/mcp/<name>`
 * is public, so without it every made-up name an unauthenticated caller
 * sends would be one D1 read on the primary, and one more entry pushing
 * real servers out of the map. With it an isolate reads D1 for names at
 * most once per `maxAgeMs` plus once per registered name, whatever it is
 * sent, and a server registered since appears within the same bound.
 */
export class McpRegistryCache {
  private readonly servers = new Map<string, Entry<McpServerRoute[]>>();
  private readonly grants = new Map<string, Entry<McpGrantCover[]>>();
  private readonly serverCalls = new SingleFlight<Entry<McpServerRoute[]>>();
  private readonly grantCalls = new SingleFlight<Entry<McpGrantCover[]>>();
  /** Every active name; bounded by what orgs registered, never by what callers send. */
  private names: Entry<ReadonlySet<string>> | undefined;
  private readonly nameCalls = new SingleFlight<Entry<ReadonlySet<string>>>();

  constructor(
    private readonly rpc: McpRegistryRpc,
    private readonly settings: RegistryCacheSettings,
  ) {}

  async serversNamed(name: string): Promise<McpServerRoute[]> {
    if (!(await this.activeNames()).has(name)) return [];
    return this.cached(this.servers, this.serverCalls, name, () => this.rpc.serversNamed(name));
  }

  liveGrants(query: McpGrantQuery): Promise<McpGrantCover[]> {
    const key = JSON.stringify([query.orgId, query.clientId, query.server]);
    return this.cached(this.grants, this.grantCalls, key, () => this.rpc.liveGrants(query));
  }

  private async activeNames(): Promise<ReadonlySet<string>> {
    const known = this.names;
    if (known && Date.now() - known.at < this.settings.maxAgeMs) return known.value;
    const entry = await this.nameCalls.run("", async () => {
      const at = Date.now();
      return { value: new Set(await this.rpc.activeServerNames()), at };
    });
    // A slower call that started earlier never replaces a fresher list.
    if (!this.names || this.names.at <= entry.at) this.names = entry;
    return entry.value;
  }

  private async cached<T>(
    map: Map<string, Entry<T>>,
    calls: SingleFlight<Entry<T>>,
    key: string,
    load: () => Promise<T>,
  ): Promise<T> {
    const hit = map.get(key);
    if (hit && Date.now() - hit.at < this.settings.maxAgeMs) {
      map.delete(key);
      map.set(key, hit);
      return hit.value;
    }
    const entry = await calls.run(key, async () => {
      const at = Date.now();
      return { value: await load(), at };
    });
    map.delete(key);
    map.set(key, entry);
    while (map.size > this.settings.maxEntries) {
      const oldest = map.keys().next().value;
      if (oldest === undefined) break;
      map.delete(oldest);
    }
    return entry.value;
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
