import {
  type BrowserGrantRevocation,
  type BrowserGrantRevocationOutcome,
  MAX_REVOCATION_SLACK_SECONDS,
  MAX_SUBJECT_REVOCATIONS_PER_CALL,
  RECORDABLE_REVOCATION_KINDS,
  type RevocationEvent,
  type RevocationKind,
  type RevocationLogEvent,
  type SubjectRevocationsOutcome,
  type TokenRevocation,
  type TokenRevocationOutcome,
} from "../../../shared/contracts/revocation.ts";
import { CLOCK_TOLERANCE_SECONDS, MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../../shared/contracts/tokens.ts";
import { dropCoveredBrowserGrants, storeBrowserGrantRevocation } from "./browser-grant-revocation.ts";
import type { OrgStore } from "./org-store.ts";
import { OrgMismatchError } from "./own-org.ts";
import { assertRevocableClaims } from "./revocable-claims.ts";
import type { RevocationLog } from "./revocation-log.ts";
import { MIRROR_DELAY_MS } from "./revocation-mirror.ts";
import type { RevocationSubscribers } from "./revocation-subscribers.ts";
import { storeSubjectRevocations } from "./subject-revocations.ts";
import { storeTokenRevocation } from "./token-revocation.ts";

/** What revoke() records: not `client_subject`, which only a fold makes (browser-grant-revocation.ts). */
const KINDS: ReadonlySet<RevocationKind> = new Set(RECORDABLE_REVOCATION_KINDS);

/**
 * How the org's object records revocations (OrgState.revoke, revokeSubjects,
 * revokeToken, revokeBrowserGrant). Each recording checks the call names this
 * object's org, then writes its entries, the version bumps and their log
 * events in one transaction, so a subscriber that sees version N can always
 * read event N; then it publishes the events and schedules the alarm that
 * prunes them and mirrors the snapshot (org-alarm.ts).
 */
export class RevocationRecorder {
  constructor(
    private readonly store: OrgStore,
    private readonly log: RevocationLog,
    private readonly subscribers: RevocationSubscribers,
  ) {}

  /**
   * Records a revocation and returns the new version. `jtiExpiresAt` (the
   * token's own `exp`) lets a jti entry be pruned as soon as its token is dead.
   * `slackSeconds` lets a `grant` entry live that much longer
   * (MAX_REVOCATION_SLACK_SECONDS says why, and why only `grant`).
   */
  async revoke(event: RevocationEvent, jtiExpiresAt?: number, slackSeconds?: number): Promise<number> {
    this.store.assertOwnOrg(event?.orgId);
    if (!KINDS.has(event.kind)) throw new RangeError(`unknown revocation kind ${String(event.kind)}`);
    if (typeof event.value !== "string" || event.value.length === 0 || event.value.length > 256) {
      throw new RangeError("revocation value must be 1..256 characters");
    }
    // An org cut-off names the org it cuts off: only this one. Another org's
    // id would sit in this org's snapshot, mirror and event stream, where a
    // consumer keyed by value (an SSF receiver, the console) reads it as B's.
    if (event.kind === "org" && event.value !== event.orgId) throw new OrgMismatchError(event.value);
    const slack = slackSeconds ?? 0;
    if (!Number.isSafeInteger(slack) || slack < 0 || slack > MAX_REVOCATION_SLACK_SECONDS) {
      throw new RangeError(`revocation slack must be an integer 0..${MAX_REVOCATION_SLACK_SECONDS} seconds`);
    }
    if (slack > 0 && event.kind !== "grant") throw new RangeError("only a grant revocation takes a slack");
    // The entry lives until this exp (RFC 7519 §4.1.4, a NumericDate; ours
    // are whole seconds). Unchecked, a null became 5 (null + 5) and a -1
    // became 4: the entry was stored already expired and the call answered
    // a version for a revocation nothing enforced; a NaN threw from SQLite.
    if (jtiExpiresAt !== undefined && (!Number.isSafeInteger(jtiExpiresAt) || jtiExpiresAt < 0)) {
      throw new RangeError("jtiExpiresAt must be the token's exp: a non-negative integer of seconds");
    }
    const now = Math.floor(Date.now() / 1000);
    // A verifier still accepts a token up to the clock tolerance past its
    // `exp`, so the entry must outlive that too.
    const ceiling = now + MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS;
    const expiresAt =
      event.kind === "jti" && jtiExpiresAt !== undefined
        ? Math.min(jtiExpiresAt + CLOCK_TOLERANCE_SECONDS, ceiling)
        : ceiling + slack;
    // Entry, version and log event are one transaction: a subscriber that
    // sees version N can always read event N.
    const logged = this.store.recordingTransaction(() => {
      this.store.rememberOrg(event.orgId);
      this.store.sql.exec(
        `INSERT INTO revocation (kind, value, revoked_at, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (kind, value) DO UPDATE SET revoked_at = excluded.revoked_at,
           expires_at = max(revocation.expires_at, excluded.expires_at)`,
        event.kind,
        event.value,
        now,
        expiresAt,
      );
      // Drops the person's browser-grant entries the cut-off covers with the clock tolerance to spare, as a gateway view does.
      if (event.kind === "subject") dropCoveredBrowserGrants(this.store.sql, event.value, now);
      const seq = this.store.bumpVersion();
      return this.log.append({
        seq,
        kind: event.kind,
        value: event.value,
        revoked_at: now,
        expires_at: expiresAt,
        reason: String(event.reason ?? ""),
      });
    });
    await this.announce([logged]);
    return logged.seq;
  }

  /**
   * Records the `subject` cut-offs of up to MAX_SUBJECT_REVOCATIONS_PER_CALL
   * people in one transaction, each as revoke() records one (one version
   * and one log event per person, in the order given; subject-revocations.ts):
   * a caller that cuts off many people (a SCIM Group write) makes one call
   * instead of one per person, which took a large Group's write past
   * Workers' subrequest limit. A person whose value the object does not
   * take is `refused` without keeping the others from being recorded; a
   * call naming another org, another kind or too many people records
   * nothing and throws.
   */
  async revokeSubjects(events: readonly RevocationEvent[]): Promise<SubjectRevocationsOutcome> {
    if (!Array.isArray(events) || events.length > MAX_SUBJECT_REVOCATIONS_PER_CALL) {
      throw new RangeError(`revokeSubjects takes at most ${MAX_SUBJECT_REVOCATIONS_PER_CALL} events`);
    }
    if (events.length === 0) return { version: this.store.version(), subjects: [] };
    const orgId = events[0]?.orgId;
    for (const event of events) {
      this.store.assertOwnOrg(event?.orgId);
      if (event.orgId !== orgId) throw new OrgMismatchError(String(event.orgId));
      if (event.kind !== "subject")
        throw new RangeError(`revokeSubjects records subject cut-offs, not ${String(event.kind)}`);
    }
    const now = Math.floor(Date.now() / 1000);
    // As revoke(): a cut-off outlives every token it covers, the clock tolerance included.
    const expiresAt = now + MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS;
    const stored = this.store.recordingTransaction(() => {
      this.store.rememberOrg(orgId);
      const nextSeq = () => this.store.bumpVersion();
      return storeSubjectRevocations(this.store.sql, this.log, nextSeq, events, now, expiresAt);
    });
    await this.announce(stored.logged);
    return { version: this.store.version(), subjects: stored.subjects };
  }

  /**
   * Records an RFC 7009 revocation attributed to the token's client, folding
   * that client's entries past the caps into one `client` cut-off
   * (token-revocation.ts). Entries, version and events are one transaction;
   * the events reach subscribers and gateway channels before this answers.
   */
  async revokeToken(revocation: TokenRevocation): Promise<TokenRevocationOutcome> {
    this.store.assertOwnOrg(revocation?.claims?.org_id);
    // As isRevoked checks them (revocable-claims.ts): the fold's lookups walk
    // `act`, and a cycle, which RPC's structured clone carries, held the
    // object's one thread until the walk's array overflowed.
    assertRevocableClaims(revocation.claims);
    const orgId = revocation.claims.org_id;
    const now = Math.floor(Date.now() / 1000);
    const recorded = this.store.recordingTransaction(() => {
      this.store.rememberOrg(orgId);
      return storeTokenRevocation(this.store.sql, this.log, () => this.store.bumpVersion(), revocation, now);
    });
    await this.announce(recorded.events);
    return { version: this.store.version(), recorded: recorded.outcome };
  }

  /**
   * Records a browser grant's revocation attributed to its client and
   * person, folding that person's browser-grant entries for that client past
   * MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON into one `client_subject`
   * cut-off of the person at that client (browser-grant-revocation.ts). Entries, version and events are one
   * transaction; the events reach subscribers and gateway channels before
   * this answers.
   */
  async revokeBrowserGrant(revocation: BrowserGrantRevocation): Promise<BrowserGrantRevocationOutcome> {
    this.store.assertOwnOrg(revocation?.orgId);
    const { orgId } = revocation;
    const now = Math.floor(Date.now() / 1000);
    const recorded = this.store.recordingTransaction(() => {
      this.store.rememberOrg(orgId);
      return storeBrowserGrantRevocation(this.store.sql, this.log, () => this.store.bumpVersion(), revocation, now);
    });
    await this.announce(recorded.events);
    return { version: this.store.version(), recorded: recorded.outcome };
  }

  /**
   * Publishes committed events and has the alarm run by the first one's
   * expiry or the next mirror write, whichever is sooner; nothing to
   * schedule when nothing was logged (a token revocation already covered).
   */
  private async announce(events: readonly RevocationLogEvent[]): Promise<void> {
    // After the commit and before any await: subscribers see events in seq order.
    for (const event of events) this.subscribers.publish(event);
    if (events.length === 0) return;
    const expiries = events.map((event) => event.expires_at * 1000);
    await this.store.scheduleAlarm(Math.min(...expiries, Date.now() + MIRROR_DELAY_MS));
  }
}
