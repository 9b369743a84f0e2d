import { ORG_STATE_META } from "../../../shared/contracts/storage-keys.ts";
import { migrateGrantColumns } from "./browser-grant-revocation.ts";
import { isOwnOrg, OrgMismatchError } from "./own-org.ts";
import { assertEntryRoom, entryUsage, installEntryAccounting } from "./revocation-capacity.ts";
import { migrateTokenColumns } from "./token-revocation.ts";

/**
 * The org object's own storage and the bookkeeping every part of it shares:
 * which org it is, its revocation version, its alarm.
 *
 * Storage (SQLite, docs/storage-schema.md): `revocation(kind, value,
 * revoked_at, expires_at, client_id, issued_at, subject)` (`client_id` and
 * `issued_at` on RFC 7009 jti rows, token-revocation.ts; `client_id` and
 * `subject` on browser grant rows, browser-grant-revocation.ts), the event
 * log `revocation_event` (revocation-log.ts)
 * and `meta(key, value)` with keys `version` (the revocation version),
 * `log_floor` (see revocation-log.ts), `policy_version` (the current policy
 * version, absent until the first publish), `policy_sequence` (the
 * publish counter, policy-publication.ts) and `mirror_version`
 * (revocation-mirror.ts); `org(id)` remembers which org this object is, for
 * the KV mirror its alarm writes (org-alarm.ts).
 */
export class OrgStore {
  readonly sql: SqlStorage;

  constructor(private readonly ctx: DurableObjectState) {
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
    installEntryAccounting(this.sql);
  }

  /** Runs `body` as one storage transaction: all of its writes commit, or none. */
  transaction<T>(body: () => T): T {
    return this.ctx.storage.transactionSync(body);
  }

  /**
   * A recording's transaction: `body`'s writes commit only if the org's
   * entries stay within their cap (revocation-capacity.ts); otherwise none
   * do and RevocationCapacityError is thrown.
   */
  recordingTransaction<T>(body: () => T): T {
    return this.transaction(() => {
      const before = entryUsage(this.sql);
      const result = body();
      assertEntryRoom(this.sql, before, Math.floor(Date.now() / 1000));
      return result;
    });
  }

  /** The org the first revocation recorded, if any (own-org.ts says when it is the authority). */
  recordedOrg(): string | undefined {
    return this.sql.exec<{ id: string }>("SELECT id FROM org LIMIT 1").toArray()[0]?.id;
  }

  /** Whether `orgId` is this object's own org (own-org.ts). */
  isOwnOrg(orgId: unknown): boolean {
    return isOwnOrg(this.ctx.id.name, this.recordedOrg(), orgId);
  }

  /** Refuses a call naming another org than this object's (own-org.ts). */
  assertOwnOrg(orgId: unknown): void {
    if (!this.isOwnOrg(orgId)) throw new OrgMismatchError(String(orgId));
  }

  /**
   * Remembers `orgId` as this object's org, inside a recording's
   * transaction. A row another org's revoke left before names were checked
   * goes: the alarm mirrors under this one.
   */
  rememberOrg(orgId: string): void {
    this.sql.exec("DELETE FROM org WHERE id <> ?", orgId);
    this.sql.exec("INSERT OR IGNORE INTO org (id) VALUES (?)", orgId);
  }

  /** The org's revocation version: 0 before the first revocation. */
  version(): number {
    return this.metaValue(ORG_STATE_META.version) ?? 0;
  }

  /** Moves the revocation version on by one and returns it (a recording's `seq`). */
  bumpVersion(): number {
    return this.sql
      .exec<{ value: number }>(
        `INSERT INTO meta (key, value) VALUES (?, 1)
         ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value`,
        ORG_STATE_META.version,
      )
      .one().value;
  }

  /** The current policy version, or null while the org has published none. */
  policyVersion(): number | null {
    return this.metaValue(ORG_STATE_META.policyVersion) ?? null;
  }

  metaValue(key: string): number | undefined {
    return this.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
  }

  /** The alarm runs at `at` (ms) or earlier: one alarm serves both cleanup and the mirror. */
  async scheduleAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /**
   * At start, an alarm `delayMs` from now if none is set while entries or
   * events are held. A recording commits, then awaits before it sets its
   * alarm (RevocationRecorder.announce): an object stopped between the two
   * (an eviction, a deploy, a failed machine) kept entries no alarm would
   * prune and a KV mirror behind until the org's next recording, if any
   * came. A spare alarm finds nothing to do (org-alarm.ts is idempotent).
   */
  async rearmAlarm(delayMs: number): Promise<void> {
    const held = this.sql
      .exec("SELECT 1 FROM revocation UNION ALL SELECT 1 FROM revocation_event LIMIT 1")
      .toArray().length;
    if (held === 0 || (await this.ctx.storage.getAlarm()) !== null) return;
    await this.ctx.storage.setAlarm(Date.now() + delayMs);
  }

  /** Sets the next alarm to `at` (ms) outright: for the alarm itself, which knows what is due next. */
  async setAlarm(at: number): Promise<void> {
    await this.ctx.storage.setAlarm(at);
  }
}
