import { KV_KEY } from "../../../../shared/contracts/storage-keys.ts";
import type { TokenServiceRpc } from "../../../../shared/contracts/token-service.ts";
import { SingleFlight } from "../../../../shared/isolate/single-flight.ts";
import { type CompiledPolicy, compilePolicy } from "../../../../shared/policy/compile-policy.ts";

/** Which policy version is current for an org, as of the gateway's last refresh (≤ the staleness bound). */
export interface PolicyVersionSource {
  /** null: the org has published none. */
  policyVersion(orgId: string): Promise<number | null>;
}

export interface PolicyStoreOptions {
  /** What an org that has published no version gets (shared/policy/default-policy.ts, compiled). */
  defaultPolicy: CompiledPolicy;
  /**
   * How many compiled versions one isolate holds, least recently used going
   * first; the same bound holds the last policy served per org. An evicted
   * version costs one KV read and one compile when it comes back.
   */
  maxEntries: number;
  /** After neither KV nor `origin` had a version's snapshot, how long before they are asked again. */
  retryAfterMs: number;
  /**
   * Where a snapshot this location's KV does not show yet is read: the
   * token Worker's RPC entrypoint (D1's copy), as the JWKS cache does for a
   * key. Absent: KV only.
   */
  origin?: Pick<TokenServiceRpc, "policySnapshot">;
}

/** Defaults for index.ts: room for every org an isolate's revocation view holds at its default size. */
export const POLICY_STORE_DEFAULTS = { maxEntries: 1000, retryAfterMs: 1000 } as const;

/**
 * No policy can be vouched for: neither KV nor the token Worker gives the
 * current version's snapshot, and this isolate has served the org no
 * earlier one. The gateway answers 503 and decides nothing: guessing a
 * policy could open what the org's published one closes.
 */
export class PolicyUnavailableError extends Error {
  override readonly name = "PolicyUnavailableError";
}

/**
 * The compiled policy for an org's request, with no D1 or Durable Object
 * read per request: the version comes from the revocation view's snapshot
 * (one refresh per staleness window brings revocations and the policy
 * version together), the document from KV (KV_KEY.policy, immutable per
 * version, so compiled once per isolate and kept for good).
 *
 * Publishing writes the snapshot to KV before the org's Durable Object names
 * the version (workers/token/src/policies/publish.ts), so a gateway never
 * sees a version whose snapshot was never written; but KV takes up to about
 * a minute to show a new key everywhere. Until this location has it, the
 * snapshot is read from the token Worker (`origin`, D1), once per version
 * and isolate: the policy this isolate last served the org may be several
 * versions old (an isolate that saw no request of the org while a version
 * that cut someone off was current), so deciding with it would reopen what
 * the versions since closed, for as long as KV lags. Only when neither KV
 * nor the token Worker answers does the gateway keep deciding with the
 * policy it last served, and asks again at most once per `retryAfterMs`; a
 * fresh isolate with nothing served yet refuses (PolicyUnavailableError).
 * It never falls back to the default policy for an org that has published.
 */
export class PolicyStore {
  /** Compiled versions by `${orgId} ${version}`, least recently used first. */
  private readonly compiled = new Map<string, CompiledPolicy>();
  /** The policy last served per org, for while KV lags behind the object; least recently used first. */
  private readonly lastServed = new Map<string, CompiledPolicy>();
  /** When a version KV did not have may be asked for again. */
  private readonly retryAt = new Map<string, number>();
  private readonly loads = new SingleFlight<CompiledPolicy | undefined>();

  constructor(
    private readonly kv: KVNamespace,
    private readonly versions: PolicyVersionSource,
    private readonly options: PolicyStoreOptions,
  ) {}

  async policyFor(orgId: string): Promise<CompiledPolicy> {
    const version = await this.versions.policyVersion(orgId);
    // Not remembered as served: an org's first version that cannot be loaded
    // yet must not fall back to the default it had before publishing.
    if (version === null) return this.options.defaultPolicy;
    const policy = this.cached(orgId, version) ?? (await this.load(orgId, version));
    if (policy) {
      remember(this.lastServed, orgId, policy, this.options.maxEntries);
      return policy;
    }
    const previous = this.lastServed.get(orgId);
    if (previous) return previous;
    throw new PolicyUnavailableError(`policy v${version} of org ${orgId} cannot be loaded yet`);
  }

  private cached(orgId: string, version: number): CompiledPolicy | undefined {
    const key = entryKey(orgId, version);
    const hit = this.compiled.get(key);
    if (hit) remember(this.compiled, key, hit, this.options.maxEntries);
    return hit;
  }

  /** One KV read and compile per version however many requests wait for it (shared/isolate/single-flight.ts). */
  private load(orgId: string, version: number): Promise<CompiledPolicy | undefined> {
    const key = entryKey(orgId, version);
    const retryAt = this.retryAt.get(key);
    if (retryAt !== undefined && Date.now() < retryAt) return Promise.resolve(undefined);
    return this.loads.run(key, () => this.read(orgId, version));
  }

  private async read(orgId: string, version: number): Promise<CompiledPolicy | undefined> {
    const key = entryKey(orgId, version);
    let policy: CompiledPolicy | undefined;
    try {
      const text = await this.snapshot(orgId, version);
      // Published only after a full compile and its tests: compile each rule when a request first needs it.
      if (text !== null) policy = compilePolicy(JSON.parse(text), { lazy: true });
    } catch (error) {
      // The token Worker unreachable too, or a snapshot that no longer
      // compiles (it was valid when published): the same answer as a
      // snapshot not there yet.
      console.error(`policy v${version} of org ${orgId} cannot be loaded`, error);
    }
    if (!policy) {
      remember(this.retryAt, key, Date.now() + this.options.retryAfterMs, this.options.maxEntries);
      return undefined;
    }
    this.retryAt.delete(key);
    remember(this.compiled, key, policy, this.options.maxEntries);
    return policy;
  }

  /** The version's document: KV's snapshot, else (not there yet, or KV failing) the token Worker's copy. */
  private async snapshot(orgId: string, version: number): Promise<string | null> {
    try {
      const text = await this.kv.get(KV_KEY.policy(orgId, version), "text");
      if (text !== null) return text;
    } catch (error) {
      console.error(`policy v${version} of org ${orgId}: KV read failed`, error);
    }
    return (await this.options.origin?.policySnapshot(orgId, version)) ?? null;
  }
}

function entryKey(orgId: string, version: number): string {
  return `${orgId} ${version}`;
}

/** Sets `key` as the most recently used entry, evicting the least recently used beyond `max`. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) break;
    map.delete(oldest.value);
  }
}
