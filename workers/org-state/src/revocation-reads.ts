import type { RevocableClaims } from "../../../shared/contracts/org-state.ts";
import {
  REVOCATION_SYNC_TAIL,
  type RevocationChanges,
  type RevocationSnapshot,
  type RevocationSync,
} from "../../../shared/contracts/revocation.ts";
import { liveEntries, matchesLiveEntry } from "./live-entries.ts";
import type { OrgStore } from "./org-store.ts";
import { assertRevocableClaims } from "./revocable-claims.ts";
import type { RevocationLog } from "./revocation-log.ts";

/**
 * How the org's object answers reads of its revocations (OrgState.sync,
 * changesSince, isRevoked, areRevoked, snapshot): gateways bringing their
 * views up to date, and the token Worker checking tokens against the
 * source of truth. Nothing here writes.
 */
/** The most tokens one areRevoked call judges: its callers send two (a token exchange's subject and actor), a batch check more. */
export const MAX_ARE_REVOKED_CLAIMS = 1000;

export class RevocationReader {
  constructor(
    private readonly store: OrgStore,
    private readonly log: RevocationLog,
  ) {}

  /**
   * What a gateway needs to bring its view from version `after` to now, in
   * one read: the events since (reaching REVOCATION_SYNC_TAIL further back,
   * so the copy it shares in its location serves isolates a little behind
   * it too) and the policy version; or the whole snapshot when `after` is
   * null (a cold isolate without a KV mirror), predates the log, or is ahead
   * of this object.
   */
  sync(orgId: string, after: number | null): RevocationSync {
    this.store.assertOwnOrg(orgId);
    const version = this.store.version();
    const policyVersion = this.store.policyVersion();
    const floor = this.log.floor();
    // Below the floor some events after `after` may be missing: only the snapshot is whole then.
    if (after !== null && Number.isSafeInteger(after) && after >= floor && after <= version) {
      const from = Math.max(floor, Math.min(after, version - REVOCATION_SYNC_TAIL));
      const changes = this.log.changesSince(from, version);
      if (changes.kind === "changes") {
        const through = changes.more ? (changes.events.at(-1)?.seq ?? version) : version;
        return { kind: "delta", orgId, from, through, events: changes.events, more: changes.more, policyVersion };
      }
    }
    return { kind: "snapshot", snapshot: this.snapshot(orgId) };
  }

  /** The events after version `after` (one page), or "resync" when some are no longer logged. */
  changesSince(after: number): RevocationChanges {
    return this.log.changesSince(after, this.store.version());
  }

  /**
   * One token against the live entries, each looked up by its primary key
   * (kind, value): jti, session and grant by value, subject, client (the
   * token's and every actor's along `act`) and org when made at or after the
   * token was issued (shared/revocation/is-token-revoked.ts).
   */
  isRevoked(claims: RevocableClaims): boolean {
    this.store.assertOwnOrg(claims?.org_id);
    assertRevocableClaims(claims);
    return matchesLiveEntry(this.store.sql, claims, Math.floor(Date.now() / 1000));
  }

  /**
   * isRevoked for several tokens of this org in one call, in order: a token
   * exchange checks its subject and actor tokens with one round trip.
   */
  areRevoked(claims: readonly RevocableClaims[]): boolean[] {
    // A failed read the caller fails closed on, as isRevoked's refusal of its claims, not a TypeError from the loop.
    if (!Array.isArray(claims)) throw new RangeError("areRevoked takes a list of claims");
    // Bounded like every other input of the object's one thread: a caller asks for a subject and an actor token.
    if (claims.length > MAX_ARE_REVOKED_CLAIMS) {
      throw new RangeError(`areRevoked takes at most ${MAX_ARE_REVOKED_CLAIMS} claims`);
    }
    for (const one of claims) {
      this.store.assertOwnOrg(one?.org_id);
      assertRevocableClaims(one);
    }
    const now = Math.floor(Date.now() / 1000);
    return claims.map((one) => matchesLiveEntry(this.store.sql, one, now));
  }

  /** The live revocations, for gateways to cache within their staleness bound. */
  snapshot(orgId: string): RevocationSnapshot {
    this.store.assertOwnOrg(orgId);
    const now = Math.floor(Date.now() / 1000);
    const entries = liveEntries(this.store.sql, now);
    return { orgId, version: this.store.version(), entries, policyVersion: this.store.policyVersion() };
  }
}
