import type { AccessTokenClaims } from "../../../../shared/contracts/tokens.ts";
import { SingleFlight } from "../../../../shared/isolate/single-flight.ts";
import { RevocationChannel } from "./revocation-channel.ts";
import type { OrgRevocations } from "./revocation-index.ts";
import { pullRevocations, type RevocationSource } from "./revocation-sync.ts";

export type { RevocationSource } from "./revocation-sync.ts";

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
  /**
   * Push (revocation-channel.ts): while an org has traffic, each isolate
   * holds a channel from its object, which delivers revocations as they are
   * recorded and keeps the view confirmed without pulling. Off, or for a
   * request that brings no waitUntil, the view only pulls.
   */
  push?: { maxAgeMs: number };
}

/** What a check may hand over so the view can hold a push channel past the request. */
export interface CheckContext {
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** Below this bound a channel's pings could not keep up: such views only pull. */
const MIN_PUSH_STALENESS_MS = 100;

/**
 * An isolate's view of each org's revocations, never believed fresher than
 * `maxStalenessMs` (docs/revocation.md). The org's Durable Object is the
 * source of truth. A view is current while it was confirmed against the
 * object less than the bound ago — by its push channel's pings, or by a
 * pull (revocation-sync.ts: the location's cache, then the object, changes
 * only). Concurrent requests in an isolate share one pull, so the object
 * sees about one read per location per window, whatever the number of
 * isolates or requests, plus one channel per isolate and org with traffic.
 */
export class RevocationView {
  /** In least-recently-used order: a hit moves the org to the end. */
  private readonly views = new Map<string, OrgRevocations>();
  private readonly channels = new Map<string, RevocationChannel>();
  /** Concurrent requests of an org share one pull (shared/isolate/single-flight.ts: never one another's promise). */
  private readonly pulls = new SingleFlight<OrgRevocations>();
  private readonly maxStalenessMs: number;
  private readonly maxOrgs: number;
  private readonly hardLimitMs: number;
  private readonly push: { maxAgeMs: number } | undefined;

  constructor(
    private readonly source: RevocationSource,
    options: RevocationViewOptions,
  ) {
    this.maxStalenessMs = options.maxStalenessMs;
    this.maxOrgs = options.maxOrgs;
    this.hardLimitMs = Math.max(options.hardLimitMs ?? 0, options.maxStalenessMs);
    this.push = options.maxStalenessMs >= MIN_PUSH_STALENESS_MS ? options.push : undefined;
  }

  /** How many orgs' views this isolate holds now (at most `maxOrgs`). */
  get size(): number {
    return this.views.size;
  }

  /**
   * How many revocation entries this isolate holds for the org (expired ones
   * until the next sweep), undefined with no view of it: what a view costs,
   * which follows the object's caps (revocation-index.ts).
   */
  entriesHeld(orgId: string): number | undefined {
    return this.views.get(orgId)?.size;
  }

  /** How many push channels this isolate holds open now. */
  get openChannels(): number {
    let open = 0;
    for (const channel of this.channels.values()) if (channel.live) open++;
    return open;
  }

  /**
   * Whether any recorded revocation matches the token (revocation-index.ts:
   * jti, session, grant, and subject, client — along the `act` chain too —
   * client_subject and org cut-offs). Throws when no view within the hard
   * limit can be had, or the org's entries hold one this gateway cannot read
   * (UnreadableRevocationError, a kind newer than it): the caller fails closed.
   */
  async isRevoked(claims: AccessTokenClaims, context: CheckContext = {}): Promise<boolean> {
    const view = await this.current(claims.org_id, context);
    return view.matches(claims, Math.floor(Date.now() / 1000));
  }

  /**
   * The same check on whatever view this isolate holds, however old, and
   * "not revoked" with none: only for routes that chose availability over
   * the bound while the org's object cannot be read (authenticate.ts).
   */
  isRevokedLastKnown(claims: AccessTokenClaims): boolean {
    return this.views.get(claims.org_id)?.matches(claims, Math.floor(Date.now() / 1000)) ?? false;
  }

  /** The org's current policy version as of its view, which is no older than the bound; null: none published. */
  async policyVersion(orgId: string): Promise<number | null> {
    return (await this.current(orgId, {})).policyVersion;
  }

  private async current(orgId: string, context: CheckContext): Promise<OrgRevocations> {
    const held = this.views.get(orgId);
    if (held && Date.now() - held.confirmedAt < this.maxStalenessMs) {
      this.remember(orgId, held);
      this.keepChannel(held, context);
      return held;
    }
    try {
      const view = await this.pulls.run(orgId, () => pullRevocations(this.source, orgId, held, this.maxStalenessMs));
      this.remember(orgId, view);
      this.keepChannel(view, context);
      return view;
    } catch (error) {
      // A brief outage of the org's object should not take every request of
      // the org down with it: the last view still answers, beyond the bound
      // but within the hard limit. Its confirmation time is kept, so the
      // next request tries the object again and the limit counts from the
      // last successful read.
      if (held && Date.now() - held.confirmedAt < this.hardLimitMs) {
        console.error("revocation refresh failed; serving the last view", orgId, Date.now() - held.confirmedAt, error);
        return held;
      }
      throw error;
    }
  }

  /**
   * Opens (or replaces, when it nears its end or follows a replaced view) the
   * org's push channel. One that ended early (failed, or refused by a full
   * object) holds its successor off until its `retryAt`, whichever view it
   * followed: the view pulls within the bound meanwhile, and an object that
   * said when to come back (Retry-After) is not asked sooner.
   */
  private keepChannel(view: OrgRevocations, context: CheckContext): void {
    if (!this.push || !context.waitUntil) return;
    const channel = this.channels.get(view.orgId);
    if (channel?.ended && Date.now() < channel.retryAt) return;
    if (channel?.view === view && channel.live) return;
    if (channel && channel.view !== view) channel.close();
    this.channels.set(
      view.orgId,
      RevocationChannel.open(
        this.source.ORG_STATE,
        view,
        { maxStalenessMs: this.maxStalenessMs, maxAgeMs: this.push.maxAgeMs },
        context.waitUntil,
      ),
    );
  }

  /** Holds the org's view as the most recently used, evicting the least recently used beyond the bound. */
  private remember(orgId: string, view: OrgRevocations): void {
    this.views.delete(orgId);
    this.views.set(orgId, view);
    while (this.views.size > this.maxOrgs) {
      const oldest = this.views.keys().next();
      if (oldest.done) break;
      this.views.delete(oldest.value);
      this.channels.get(oldest.value)?.close();
      this.channels.delete(oldest.value);
    }
  }
}
