import { DurableObject } from "cloudflare:workers";
import type { OrgStateRpc, PolicyPublication, RevocableClaims } from "../../../shared/contracts/org-state.ts";
import {
  type BrowserGrantRevocation,
  type BrowserGrantRevocationOutcome,
  MAX_REVOCATION_SLACK_SECONDS,
  MAX_SUBJECT_REVOCATIONS_PER_CALL,
  RECORDABLE_REVOCATION_KINDS,
  REVOCATION_SYNC_TAIL,
  type RevocationChanges,
  type RevocationEvent,
  type RevocationKind,
  type RevocationSnapshot,
  type RevocationSync,
  type SubjectRevocationsOutcome,
  type TokenRevocation,
  type TokenRevocationOutcome,
} from "../../../shared/contracts/revocation.ts";
import { CLOCK_TOLERANCE_SECONDS, MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../../shared/contracts/tokens.ts";
import { ORG_STATE_META } from "../../../shared/contracts/storage-keys.ts";
import {
  dropCoveredBrowserGrants,
  migrateGrantColumns,
  storeBrowserGrantRevocation,
} from "./browser-grant-revocation.ts";
import { RevocationLog } from "./revocation-log.ts";
import { liveEntries, matchesLiveEntry } from "./live-entries.ts";
import { isOwnOrg, OrgMismatchError } from "./own-org.ts";
import { assertRevocableClaims } from "./revocable-claims.ts";
import { MIRROR_DELAY_MS, RevocationMirror } from "./revocation-mirror.ts";
import { RevocationSubscribers } from "./revocation-subscribers.ts";
import { storeSubjectRevocations } from "./subject-revocations.ts";
import { migrateTokenColumns, storeTokenRevocation } from "./token-revocation.ts";

/** What revoke() records: not `client_subject`, which only a fold makes (browser-grant-revocation.ts). */
const KINDS: ReadonlySet<RevocationKind> = new Set(RECORDABLE_REVOCATION_KINDS);

/**
 * The strongly consistent control state of one organization (one object per
 * org, named by orgStateName): its revocations and which policy version is
 * current.
 *
 * Storage (SQLite, docs/storage-schema.md): `revocation(kind, value,
 * revoked_at, expires_at, client_id, issued_at, subject)` (`client_id` and
 * `issued_at` on RFC 7009 jti rows, token-revocation.ts; `client_id` and
 * `subject` on browser grant rows, browser-grant-revocation.ts), the event
 * log `revocation_event` (revocation-log.ts)
 * and `meta(key, value)` with keys `version` (the revocation version),
 * `log_floor` (see revocation-log.ts), `policy_version` (the current policy
 * version, absent until the first publish), `policy_sequence` (the
 * publish counter) and `mirror_version` (revocation-mirror.ts); `org(id)`
 * remembers which org this object is, for the KV mirror its alarm writes.
 *
 * Every call that names an org must name this object's own (own-org.ts):
 * anything else is refused with OrgMismatchError (ERR_ORG_STATE_WRONG_ORG).
 */
/**
 * The bindings this object uses, spelled here rather than taken from
 * Cloudflare.Env: the other Workers type-check this class under their own
 * Env (scripts/workers.mjs `typesWith`), which need not bind KV.
 */
interface OrgStateBindings {
  /** Where the snapshot is mirrored for cold gateway isolates (revocation-mirror.ts). */
  KV: KVNamespace;
}

export class OrgState extends DurableObject<OrgStateBindings> implements OrgStateRpc {
  private readonly sql: SqlStorage;
  private readonly log: RevocationLog;
  private readonly subscribers: RevocationSubscribers;
  private readonly mirror: RevocationMirror;

  constructor(ctx: DurableObjectState, env: OrgStateBindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS revocation (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        revoked_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (kind, value)
      );
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS org (id TEXT PRIMARY KEY);
    `);
    migrateTokenColumns(this.sql);
    migrateGrantColumns(this.sql);
    this.log = new RevocationLog(this.sql);
    this.mirror = new RevocationMirror(this.sql, env.KV);
    this.subscribers = new RevocationSubscribers(ctx, this.log, () => ({
      version: this.currentVersion(),
      policyVersion: this.metaValue(ORG_STATE_META.policyVersion) ?? null,
    }));
  }

  /**
   * The live revocation stream (revocation-subscribers.ts): the only HTTP
   * this object serves, reached through `stub.fetch` by the admin API
   * (workers/token/src/revocations/), which authenticates the caller, and
   * by gateways for their push channel (GATEWAY_CHANNEL_PATH).
   */
  override async fetch(request: Request): Promise<Response> {
    return this.subscribers.connect(request);
  }

  /** Subscribers only listen; anything but the runtime-answered "ping" is ignored. */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    try {
      socket.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // Already closed by the runtime's automatic close reply.
    }
  }

  /**
   * Records a revocation and returns the new version. `jtiExpiresAt` (the
   * token's own `exp`) lets a jti entry be pruned as soon as its token is dead.
   * `slackSeconds` lets a `grant` entry live that much longer
   * (MAX_REVOCATION_SLACK_SECONDS says why, and why only `grant`).
   */
  async revoke(event: RevocationEvent, jtiExpiresAt?: number, slackSeconds?: number): Promise<number> {
    this.assertOwnOrg(event.orgId);
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
    const logged = this.ctx.storage.transactionSync(() => {
      // A row another org's revoke left before names were checked goes: the alarm mirrors under this one.
      this.sql.exec("DELETE FROM org WHERE id <> ?", event.orgId);
      this.sql.exec("INSERT OR IGNORE INTO org (id) VALUES (?)", event.orgId);
      this.sql.exec(
        `INSERT INTO revocation (kind, value, revoked_at, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (kind, value) DO UPDATE SET revoked_at = excluded.revoked_at,
           expires_at = max(revocation.expires_at, excluded.expires_at)`,
        event.kind,
        event.value,
        now,
        expiresAt,
      );
      // Drops the person's browser-grant entries the cut-off covers with the clock tolerance to spare, as a gateway view does.
      if (event.kind === "subject") dropCoveredBrowserGrants(this.sql, event.value, now);
      const seq = this.bumpVersion();
      return this.log.append({
        seq,
        kind: event.kind,
        value: event.value,
        revoked_at: now,
        expires_at: expiresAt,
        reason: String(event.reason ?? ""),
      });
    });
    // After the commit and before any await: subscribers see events in seq order.
    this.subscribers.publish(logged);
    await this.scheduleAlarm(Math.min(expiresAt * 1000, Date.now() + MIRROR_DELAY_MS));
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
    if (events.length === 0) return { version: this.currentVersion(), subjects: [] };
    const orgId = events[0]?.orgId;
    for (const event of events) {
      this.assertOwnOrg(event?.orgId);
      if (event.orgId !== orgId) throw new OrgMismatchError(String(event.orgId));
      if (event.kind !== "subject")
        throw new RangeError(`revokeSubjects records subject cut-offs, not ${String(event.kind)}`);
    }
    const now = Math.floor(Date.now() / 1000);
    // As revoke(): a cut-off outlives every token it covers, the clock tolerance included.
    const expiresAt = now + MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS;
    const stored = this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM org WHERE id <> ?", orgId);
      this.sql.exec("INSERT OR IGNORE INTO org (id) VALUES (?)", orgId);
      return storeSubjectRevocations(this.sql, this.log, () => this.bumpVersion(), events, now, expiresAt);
    });
    // After the commit and before any await: subscribers see events in seq order.
    for (const event of stored.logged) this.subscribers.publish(event);
    if (stored.logged.length > 0) await this.scheduleAlarm(Math.min(expiresAt * 1000, Date.now() + MIRROR_DELAY_MS));
    return { version: this.currentVersion(), subjects: stored.subjects };
  }

  /**
   * Records an RFC 7009 revocation attributed to the token's client, folding
   * that client's entries past the caps into one `client` cut-off
   * (token-revocation.ts). Entries, version and events are one transaction;
   * the events reach subscribers and gateway channels before this answers.
   */
  async revokeToken(revocation: TokenRevocation): Promise<TokenRevocationOutcome> {
    this.assertOwnOrg(revocation?.claims?.org_id);
    const orgId = revocation.claims.org_id;
    const now = Math.floor(Date.now() / 1000);
    const recorded = this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM org WHERE id <> ?", orgId);
      this.sql.exec("INSERT OR IGNORE INTO org (id) VALUES (?)", orgId);
      return storeTokenRevocation(this.sql, this.log, () => this.bumpVersion(), revocation, now);
    });
    // After the commit and before any await: subscribers see events in seq order.
    for (const event of recorded.events) this.subscribers.publish(event);
    const expiries = recorded.events.map((event) => event.expires_at * 1000);
    if (expiries.length > 0) await this.scheduleAlarm(Math.min(...expiries, Date.now() + MIRROR_DELAY_MS));
    return { version: this.currentVersion(), recorded: recorded.outcome };
  }

  /**
   * Records a browser grant's revocation attributed to its client and
   * person, folding that person's browser-grant entries past
   * MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON into one `subject` cut-off
   * (browser-grant-revocation.ts). Entries, version and events are one
   * transaction; the events reach subscribers and gateway channels before
   * this answers.
   */
  async revokeBrowserGrant(revocation: BrowserGrantRevocation): Promise<BrowserGrantRevocationOutcome> {
    this.assertOwnOrg(revocation?.orgId);
    const { orgId } = revocation;
    const now = Math.floor(Date.now() / 1000);
    const recorded = this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM org WHERE id <> ?", orgId);
      this.sql.exec("INSERT OR IGNORE INTO org (id) VALUES (?)", orgId);
      return storeBrowserGrantRevocation(this.sql, this.log, () => this.bumpVersion(), revocation, now);
    });
    // After the commit and before any await: subscribers see events in seq order.
    for (const event of recorded.events) this.subscribers.publish(event);
    const expiries = recorded.events.map((event) => event.expires_at * 1000);
    await this.scheduleAlarm(Math.min(...expiries, Date.now() + MIRROR_DELAY_MS));
    return { version: this.currentVersion(), recorded: recorded.outcome };
  }

  /**
   * What a gateway needs to bring its view from version `after` to now, in
   * one read: the events since (reaching REVOCATION_SYNC_TAIL further back,
   * so the copy it shares in its location serves isolates a little behind
   * it too) and the policy version; or the whole snapshot when `after` is
   * null (a cold isolate without a KV mirror), predates the log, or is ahead
   * of this object.
   */
  async sync(orgId: string, after: number | null): Promise<RevocationSync> {
    this.assertOwnOrg(orgId);
    const version = this.currentVersion();
    const policyVersion = this.metaValue(ORG_STATE_META.policyVersion) ?? null;
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
    return { kind: "snapshot", snapshot: await this.snapshot(orgId) };
  }

  /** The events after version `after` (one page), or "resync" when some are no longer logged. */
  async changesSince(after: number): Promise<RevocationChanges> {
    return this.log.changesSince(after, this.currentVersion());
  }

  /**
   * One token against the live entries, each looked up by its primary key
   * (kind, value): jti, session and grant by value, subject, client (the
   * token's and every actor's along `act`) and org when made at or after the
   * token was issued (shared/revocation/is-token-revoked.ts).
   */
  async isRevoked(claims: RevocableClaims): Promise<boolean> {
    this.assertOwnOrg(claims?.org_id);
    assertRevocableClaims(claims);
    return matchesLiveEntry(this.sql, claims, Math.floor(Date.now() / 1000));
  }

  /**
   * isRevoked for several tokens of this org in one call, in order: a token
   * exchange checks its subject and actor tokens with one round trip.
   */
  async areRevoked(claims: readonly RevocableClaims[]): Promise<boolean[]> {
    for (const one of claims) {
      this.assertOwnOrg(one?.org_id);
      assertRevocableClaims(one);
    }
    const now = Math.floor(Date.now() / 1000);
    return claims.map((one) => matchesLiveEntry(this.sql, one, now));
  }

  /** The live revocations, for gateways to cache within their staleness bound. */
  async snapshot(orgId: string): Promise<RevocationSnapshot> {
    this.assertOwnOrg(orgId);
    const now = Math.floor(Date.now() / 1000);
    const entries = liveEntries(this.sql, now);
    return {
      orgId,
      version: this.currentVersion(),
      entries,
      policyVersion: this.metaValue(ORG_STATE_META.policyVersion) ?? null,
    };
  }

  /**
   * Makes `version` current. The policy lifecycle writes the version's KV
   * snapshot before calling this (workers/token/src/policies/publish.ts), so
   * a gateway that reads the new number can load it. Any published version
   * may become current again (rollback): the number moves both ways, the
   * counter only up.
   */
  async setPolicyVersion(version: number): Promise<PolicyPublication> {
    if (!Number.isSafeInteger(version) || version < 1)
      throw new RangeError("policy version must be a positive integer");
    const sequence = this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO meta (key, value) VALUES (?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        ORG_STATE_META.policyVersion,
        version,
      );
      return this.sql
        .exec<{ value: number }>(
          `INSERT INTO meta (key, value) VALUES (?, 1)
           ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value`,
          ORG_STATE_META.policySequence,
        )
        .one().value;
    });
    // Gateways holding a push channel treat their view as current, policy
    // version included: they must hear of the switch as they would of a revocation.
    this.subscribers.publishPolicy(version);
    return { version, sequence };
  }

  async policyPublication(): Promise<PolicyPublication> {
    return {
      version: this.metaValue(ORG_STATE_META.policyVersion) ?? null,
      sequence: this.metaValue(ORG_STATE_META.policySequence) ?? 0,
    };
  }

  /**
   * Drops what has expired and brings the KV mirror up to date. Idempotent:
   * a repeated or early run deletes nothing live and writes the mirror only
   * when it is behind; if the mirror write fails the runtime retries the
   * alarm, and the cleanup simply finds nothing left to do.
   */
  override async alarm(): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    this.sql.exec("DELETE FROM revocation WHERE expires_at <= ?", now);
    this.log.prune(now);
    const recorded = this.recordedOrg();
    // Never under another org's KV key: a row from before names were checked may name one.
    const orgId = recorded !== undefined && isOwnOrg(this.ctx.id.name, undefined, recorded) ? recorded : undefined;
    const version = this.currentVersion();
    // A mirror write too soon after the last (revocation-mirror.ts, nextMirrorAt) waits for its turn.
    let mirrorDueAt: number | null = null;
    if (orgId !== undefined && this.mirror.isBehind(version)) {
      const notBefore = this.mirror.notBefore();
      if (Date.now() >= notBefore) await this.mirror.write(await this.snapshot(orgId));
      else mirrorDueAt = notBefore;
    }
    // An older event may expire before its entry's row (a later revocation
    // of the same value extends the row, not the event), so both tables set the next alarm.
    const next = this.sql
      .exec<{ next: number | null }>(
        "SELECT min(e) AS next FROM (SELECT min(expires_at) AS e FROM revocation UNION ALL SELECT min(expires_at) FROM revocation_event)",
      )
      .one().next;
    const at = [next === null ? null : next * 1000, mirrorDueAt].filter((t): t is number => t !== null);
    if (at.length > 0) await this.ctx.storage.setAlarm(Math.min(...at));
  }

  private recordedOrg(): string | undefined {
    return this.sql.exec<{ id: string }>("SELECT id FROM org LIMIT 1").toArray()[0]?.id;
  }

  /** Refuses a call naming another org than this object's (own-org.ts). */
  private assertOwnOrg(orgId: unknown): void {
    if (!isOwnOrg(this.ctx.id.name, this.recordedOrg(), orgId)) throw new OrgMismatchError(String(orgId));
  }

  private currentVersion(): number {
    return this.metaValue(ORG_STATE_META.version) ?? 0;
  }

  private metaValue(key: string): number | undefined {
    return this.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
  }

  private bumpVersion(): number {
    return this.sql
      .exec<{ value: number }>(
        `INSERT INTO meta (key, value) VALUES (?, 1)
         ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value`,
        ORG_STATE_META.version,
      )
      .one().value;
  }

  /** The alarm runs at `at` (ms) or earlier: one alarm serves both cleanup and the mirror. */
  private async scheduleAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
