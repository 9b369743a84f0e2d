import type { AccessTokenClaims } from "../../../../shared/contracts/tokens.ts";
import { CACHE_KEY, orgStateName } from "../../../../shared/contracts/storage-keys.ts";
import type { OrgStateNamespace } from "../../../../shared/contracts/org-state.ts";
import type { RevocationEntry, RevocationSnapshot } from "../../../../shared/contracts/revocation.ts";
import { tokenClients } from "../../../../shared/revocation/is-token-revoked.ts";

export interface RevocationSource {
  ORG_STATE: OrgStateNamespace;
}

interface CachedSnapshot {
  fetchedAt: number;
  snapshot: RevocationSnapshot;
}

interface OrgView {
  fetchedAt: number;
  version: number;
  jti: Set<string>;
  session: Set<string>;
  /** value → revokedAt: tokens issued at or before it are cut off. */
  cutoffs: Map<string, number>;
  /** The org's current policy version, read in the same snapshot (policy/policy-store.ts). */
  policyVersion: number | null;
}

export interface RevocationViewOptions {
  /** No view is older than this (docs/revocation.md). */
  maxStalenessMs: number;
  /**
   * How many orgs' views one isolate holds; the least recently used goes
   * first. An evicted org costs one refresh (usually from the location's
   * cache) the next time a token of it arrives, never a wrong answer.
   */
  maxOrgs: number;
  /**
   * How old a view may grow while the org's object cannot be read: until
   * then a failed refresh keeps serving the view it had (and logs it);
   * past it, the check fails and the gateway answers 503 (fail closed).
   * At least `maxStalenessMs` (config.ts); left out, it is `maxStalenessMs`:
   * no grace, a failed refresh fails the check.
   */
  hardLimitMs?: number;
}

/**
 * An isolate's view of each org's revocations, at most `maxStalenessMs` old.
 * The org's Durable Object is the source of truth. A stale view is refreshed
 * first from the location's Cache API copy, which carries the time it was
 * read from the object, and only then from the object itself; concurrent
 * requests in an isolate share one refresh. So the object sees about one
 * read per location per window, whatever the number of isolates or requests
 * (docs/revocation.md has the model and its numbers), and no view is ever
 * older than the bound, however it was obtained.
 */
export class RevocationView {
  /** In least-recently-used order: a hit moves the org to the end. */
  private readonly views = new Map<string, OrgView>();
  private readonly inflight = new Map<string, Promise<OrgView>>();
  private readonly maxStalenessMs: number;
  private readonly maxOrgs: number;
  private readonly hardLimitMs: number;

  constructor(
    private readonly source: RevocationSource,
    options: RevocationViewOptions,
  ) {
    this.maxStalenessMs = options.maxStalenessMs;
    this.maxOrgs = options.maxOrgs;
    this.hardLimitMs = Math.max(options.hardLimitMs ?? 0, options.maxStalenessMs);
  }

  /** How many orgs' views this isolate holds now (at most `maxOrgs`). */
  get size(): number {
    return this.views.size;
  }

  /**
   * Whether any recorded revocation matches the token, by the rules of
   * shared/revocation/is-token-revoked.ts: a client cut-off matches the
   * token's client and every actor client along its `act` chain, so an
   * agent that was revoked stops acting through the tokens it passed on.
   */
  async isRevoked(claims: AccessTokenClaims): Promise<boolean> {
    const view = await this.current(claims.org_id);
    if (view.jti.has(claims.jti)) return true;
    if (claims.sid !== undefined && view.session.has(claims.sid)) return true;
    return (
      issuedBy(view.cutoffs.get(`subject ${claims.sub}`), claims.iat) ||
      tokenClients(claims).some((client) => issuedBy(view.cutoffs.get(`client ${client}`), claims.iat)) ||
      issuedBy(view.cutoffs.get(`org ${claims.org_id}`), claims.iat)
    );
  }

  /** The org's current policy version as of its view, which is no older than the bound; null: none published. */
  async policyVersion(orgId: string): Promise<number | null> {
    return (await this.current(orgId)).policyVersion;
  }

  private async current(orgId: string): Promise<OrgView> {
    const cached = this.views.get(orgId);
    if (cached && Date.now() - cached.fetchedAt < this.maxStalenessMs) {
      this.remember(orgId, cached);
      return cached;
    }
    let pending = this.inflight.get(orgId);
    if (!pending) {
      pending = this.refresh(orgId).finally(() => this.inflight.delete(orgId));
      this.inflight.set(orgId, pending);
    }
    try {
      return await pending;
    } catch (error) {
      // A brief outage of the org's object should not take every request of
      // the org down with it: the last view still answers, beyond the bound
      // but within the hard limit. Its read time is kept, so the next
      // request tries the object again and the limit counts from the last
      // successful read.
      if (cached && Date.now() - cached.fetchedAt < this.hardLimitMs) {
        console.error("revocation refresh failed; serving the last view", orgId, Date.now() - cached.fetchedAt, error);
        return cached;
      }
      throw error;
    }
  }

  private async refresh(orgId: string): Promise<OrgView> {
    const shared = await this.fromLocationCache(orgId);
    if (shared) {
      this.remember(orgId, shared);
      return shared;
    }
    // Taken before the read: the snapshot is at least this fresh.
    const startedAt = Date.now();
    const snapshot: RevocationSnapshot = await this.source.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
    const view = index(snapshot, startedAt);
    this.remember(orgId, view);
    await this.toLocationCache(orgId, { fetchedAt: startedAt, snapshot });
    return view;
  }

  private async fromLocationCache(orgId: string): Promise<OrgView | undefined> {
    if (this.maxStalenessMs < 1000) return undefined;
    const hit = await caches.default.match(CACHE_KEY.revocations(orgId));
    if (!hit) return undefined;
    const cached: unknown = await hit.json().catch(() => undefined);
    if (!isCachedSnapshot(cached) || cached.snapshot.orgId !== orgId) return undefined;
    const age = Date.now() - cached.fetchedAt;
    // An entry claiming to be from the future (a skewed clock, or a forged
    // or corrupted entry) would pass the age check for as long as it claims,
    // stretching the bound: only the object itself is believed then.
    if (age < 0 || age >= this.maxStalenessMs) return undefined;
    return index(cached.snapshot, cached.fetchedAt);
  }

  /** Holds the org's view as the most recently used, evicting the least recently used beyond the bound. */
  private remember(orgId: string, view: OrgView): void {
    this.views.delete(orgId);
    this.views.set(orgId, view);
    while (this.views.size > this.maxOrgs) {
      const oldest = this.views.keys().next();
      if (oldest.done) break;
      this.views.delete(oldest.value);
    }
  }

  private async toLocationCache(orgId: string, entry: CachedSnapshot): Promise<void> {
    // The Cache API counts in whole seconds; windows under a second are
    // served from the object directly.
    const ttl = Math.floor(this.maxStalenessMs / 1000);
    if (ttl < 1) return;
    try {
      await caches.default.put(
        CACHE_KEY.revocations(orgId),
        new Response(JSON.stringify(entry), {
          headers: { "Cache-Control": `max-age=${ttl}`, "Content-Type": "application/json" },
        }),
      );
    } catch (error) {
      // A cache that cannot be written costs extra reads, not correctness.
      console.error("revocation cache write failed", error);
    }
  }
}

function isCachedSnapshot(value: unknown): value is CachedSnapshot {
  if (typeof value !== "object" || value === null) return false;
  const { fetchedAt, snapshot } = value as Partial<CachedSnapshot>;
  return (
    typeof fetchedAt === "number" &&
    Number.isFinite(fetchedAt) &&
    typeof snapshot === "object" &&
    snapshot !== null &&
    typeof snapshot.orgId === "string" &&
    typeof snapshot.version === "number" &&
    Array.isArray(snapshot.entries) &&
    (snapshot.policyVersion === null || typeof snapshot.policyVersion === "number")
  );
}

function index(snapshot: RevocationSnapshot, fetchedAt: number): OrgView {
  const view: OrgView = {
    fetchedAt,
    version: snapshot.version,
    jti: new Set(),
    session: new Set(),
    cutoffs: new Map(),
    policyVersion: snapshot.policyVersion,
  };
  for (const entry of snapshot.entries as RevocationEntry[]) {
    if (entry.kind === "jti") view.jti.add(entry.value);
    else if (entry.kind === "session") view.session.add(entry.value);
    else view.cutoffs.set(`${entry.kind} ${entry.value}`, entry.revokedAt);
  }
  return view;
}

function issuedBy(cutoff: number | undefined, iat: number): boolean {
  return cutoff !== undefined && iat <= cutoff;
}
