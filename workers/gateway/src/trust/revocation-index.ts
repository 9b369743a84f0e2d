import type { RevocationLogEvent, RevocationSnapshot } from "../../../../shared/contracts/revocation.ts";
import type { AccessTokenClaims } from "../../../../shared/contracts/tokens.ts";
import { tokenClients } from "../../../../shared/revocation/is-token-revoked.ts";

/** Expired entries are dropped at most this often (a check ignores them meanwhile). */
const SWEEP_EVERY_MS = 60_000;

interface Cutoff {
  /** Tokens issued at or before this (s) are cut off. */
  revokedAt: number;
  expiresAt: number;
}

/**
 * One org's revocations as an isolate holds them: a hash map per kind, so a
 * check costs the same with 0 or 100 000 entries, and `version`, the last
 * revocation of the org's Durable Object it reflects. It is brought forward
 * by applying the object's events in order (a sync delta or the push
 * channel), never rebuilt from the whole list except from a snapshot.
 *
 * An entry past its `expiresAt` no longer matches: by then every token it
 * could match has expired too (the object computes it from the longest
 * token lifetime plus the clock tolerance), which is why the object may
 * prune it and the view may forget it without being told.
 */
export class OrgRevocations {
  /** When (this isolate's clock, ms) the object was last known to be at `version`; 0: never. */
  confirmedAt = 0;
  /**
   * Push channels that have synced and follow every policy switch
   * (revocation-channel.ts). While one does, the policy version it delivers
   * is the newest, and a pull that was read before a switch must not put
   * the older one back.
   */
  policyChannels = 0;
  private readonly jti = new Map<string, number>();
  private readonly session = new Map<string, number>();
  private readonly grant = new Map<string, number>();
  /**
   * Cut-offs by kind, keyed by the claim's own string (no key is built per
   * check, so a claim string's cached hash serves every lookup).
   */
  private readonly cutoffs = {
    subject: new Map<string, Cutoff>(),
    client: new Map<string, Cutoff>(),
    org: new Map<string, Cutoff>(),
  };
  private nextSweep = 0;
  readonly orgId: string;
  version: number;
  /** The org's current policy version (policy/policy-store.ts); null: none published. */
  policyVersion: number | null;

  // Plain fields, no parameter properties: the bench imports this file into Node (type stripping only).
  private constructor(orgId: string, version: number, policyVersion: number | null) {
    this.orgId = orgId;
    this.version = version;
    this.policyVersion = policyVersion;
  }

  static fromSnapshot(snapshot: RevocationSnapshot): OrgRevocations {
    const view = new OrgRevocations(snapshot.orgId, snapshot.version, snapshot.policyVersion);
    for (const entry of snapshot.entries) view.add(entry.kind, entry.value, entry.revokedAt, entry.expiresAt);
    view.nextSweep = Date.now() + SWEEP_EVERY_MS;
    return view;
  }

  /** Entries held (expired ones included until the next sweep). */
  get size(): number {
    const { subject, client, org } = this.cutoffs;
    return this.jti.size + this.session.size + this.grant.size + subject.size + client.size + org.size;
  }

  /**
   * Applies the object's events in seq order; ones this view already
   * reflects are skipped. Answers false, applying nothing further, at a gap:
   * the caller must then sync from the object.
   */
  apply(events: readonly RevocationLogEvent[]): boolean {
    for (const event of events) {
      if (event.seq <= this.version) continue;
      if (event.seq !== this.version + 1) return false;
      this.add(event.kind, event.value, event.revoked_at, event.expires_at);
      this.version = event.seq;
    }
    return true;
  }

  /**
   * Whether any entry matches the token, by the rules of
   * shared/revocation/is-token-revoked.ts: its jti, its session, the grant
   * it was minted under, or a subject, client (the token's own or any along
   * its `act` chain) or org cut-off made at or after it was issued.
   */
  matches(claims: AccessTokenClaims, nowSeconds: number): boolean {
    const live = (expiresAt: number | undefined) => expiresAt !== undefined && expiresAt > nowSeconds;
    const cutsOff = (map: Map<string, Cutoff>, value: string) => {
      if (map.size === 0) return false;
      const cutoff = map.get(value);
      return cutoff !== undefined && cutoff.expiresAt > nowSeconds && claims.iat <= cutoff.revokedAt;
    };
    const { subject, client, org } = this.cutoffs;
    return (
      live(this.jti.get(claims.jti)) ||
      (claims.sid !== undefined && live(this.session.get(claims.sid))) ||
      (claims.grant_id !== undefined && live(this.grant.get(claims.grant_id))) ||
      cutsOff(subject, claims.sub) ||
      (client.size > 0 && tokenClients(claims).some((id) => cutsOff(client, id))) ||
      cutsOff(org, claims.org_id)
    );
  }

  /** Forgets expired entries, at most once per SWEEP_EVERY_MS, so memory follows the object's pruning. */
  sweep(nowMs: number): void {
    if (nowMs < this.nextSweep) return;
    this.nextSweep = nowMs + SWEEP_EVERY_MS;
    const now = Math.floor(nowMs / 1000);
    for (const map of [this.jti, this.session, this.grant]) {
      for (const [value, expiresAt] of map) if (expiresAt <= now) map.delete(value);
    }
    for (const map of Object.values(this.cutoffs)) {
      for (const [value, cutoff] of map) if (cutoff.expiresAt <= now) map.delete(value);
    }
  }

  private add(kind: RevocationLogEvent["kind"], value: string, revokedAt: number, expiresAt: number): void {
    const keep = (map: Map<string, number>) => map.set(value, Math.max(map.get(value) ?? 0, expiresAt));
    switch (kind) {
      case "jti":
        keep(this.jti);
        return;
      case "session":
        keep(this.session);
        return;
      case "grant":
        keep(this.grant);
        return;
      case "subject":
      case "client":
      case "org": {
        // A later revocation of the same value moves the cut-off forward (the object does the same).
        const map = this.cutoffs[kind];
        const before = map.get(value);
        map.set(value, {
          revokedAt: Math.max(before?.revokedAt ?? 0, revokedAt),
          expiresAt: Math.max(before?.expiresAt ?? 0, expiresAt),
        });
        return;
      }
    }
  }
}
