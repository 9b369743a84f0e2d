import {
  MAX_REVOCATION_LOG_EVENTS,
  REVOCATION_CHANGES_PAGE,
  type RevocationChanges,
  type RevocationKind,
  type RevocationLogEvent,
} from "../../../shared/contracts/revocation.ts";
import { ORG_STATE_META } from "../../../shared/contracts/storage-keys.ts";

/** A reason is for the audit trail and subscribers, never a reason to refuse a revocation. */
const MAX_REASON_LENGTH = 256;

/**
 * The org's revocation event log in the object's SQLite storage: one row per
 * recorded revocation, keyed by the revocation version it produced, so a
 * subscriber (or a gateway) syncs incrementally with changesSince.
 *
 * `meta.log_floor` is the highest seq that may be missing from the log: the
 * version when the log was introduced (older revocations were never logged)
 * or the last event pruned. Asking for changes after a position below it
 * answers "resync" instead of silently skipping events.
 *
 * The log holds at most the events of the last MAX_REVOCATION_LOG_EVENTS
 * versions: each append past that drops the oldest and raises the floor, so
 * a reader that far behind reads the snapshot (bounded by the org's caps)
 * instead of a log that grows with the revocation rate.
 *
 * An RFC 7009 jti event keeps its token's `client_id` and `iat`
 * (`client_id`, `issued_at`; null on every other event and on events from
 * before the columns, which a log gains here), so a gateway view that
 * follows the log can drop it when that client's cut-off arrives. A
 * browser grant event keeps its grant's client and person (`client_id`,
 * `subject`; browser-grant-revocation.ts), so such a view can drop it when
 * that person's `subject` cut-off, or their `client_subject` cut-off at
 * that client, arrives.
 */
export class RevocationLog {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS revocation_event (
        seq INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        revoked_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        reason TEXT NOT NULL
      )
    `);
    sql.exec(
      "INSERT OR IGNORE INTO meta (key, value) VALUES (?, coalesce((SELECT value FROM meta WHERE key = ?), 0))",
      ORG_STATE_META.logFloor,
      ORG_STATE_META.version,
    );
    const columns = new Set(
      sql
        .exec<{ name: string }>("PRAGMA table_info(revocation_event)")
        .toArray()
        .map((column) => column.name),
    );
    if (!columns.has("client_id")) sql.exec("ALTER TABLE revocation_event ADD COLUMN client_id TEXT");
    if (!columns.has("issued_at")) sql.exec("ALTER TABLE revocation_event ADD COLUMN issued_at INTEGER");
    if (!columns.has("subject")) sql.exec("ALTER TABLE revocation_event ADD COLUMN subject TEXT");
  }

  append(event: RevocationLogEvent): RevocationLogEvent {
    const logged = { ...event, reason: event.reason.slice(0, MAX_REASON_LENGTH) };
    this.sql.exec(
      `INSERT INTO revocation_event (seq, kind, value, revoked_at, expires_at, reason, client_id, issued_at, subject)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      logged.seq,
      logged.kind,
      logged.value,
      logged.revoked_at,
      logged.expires_at,
      logged.reason,
      logged.client_id ?? null,
      logged.client_id === undefined ? null : (logged.issued_at ?? null),
      logged.client_id === undefined ? null : (logged.subject ?? null),
    );
    this.keepWithinCap(logged.seq);
    return logged;
  }

  /** Drops the events more than MAX_REVOCATION_LOG_EVENTS versions behind `seq`: past it, a reader resyncs. */
  private keepWithinCap(seq: number): void {
    const oldestKept = seq - MAX_REVOCATION_LOG_EVENTS;
    if (oldestKept <= this.floor()) return;
    this.sql.exec("DELETE FROM revocation_event WHERE seq <= ?", oldestKept);
    this.sql.exec("UPDATE meta SET value = max(value, ?) WHERE key = ?", oldestKept, ORG_STATE_META.logFloor);
  }

  changesSince(after: number, version: number): RevocationChanges {
    if (!Number.isSafeInteger(after) || after < 0) throw new RangeError("after must be a non-negative integer");
    if (after < this.floor() || after > version) return { kind: "resync", version };
    const rows = this.sql
      .exec<{
        seq: number;
        kind: RevocationKind;
        value: string;
        revoked_at: number;
        expires_at: number;
        reason: string;
        client_id: string | null;
        issued_at: number | null;
        subject: string | null;
      }>(
        `SELECT seq, kind, value, revoked_at, expires_at, reason, client_id, issued_at, subject FROM revocation_event
         WHERE seq > ? ORDER BY seq LIMIT ?`,
        after,
        REVOCATION_CHANGES_PAGE + 1,
      )
      .toArray();
    const events = rows
      .slice(0, REVOCATION_CHANGES_PAGE)
      .map(({ client_id, issued_at, subject, ...event }): RevocationLogEvent => {
        // The same shape publish() sends live: the attribution only where there is one.
        if (client_id !== null && issued_at !== null) return { ...event, client_id, issued_at };
        if (client_id !== null && subject !== null) return { ...event, client_id, subject };
        return event;
      });
    return { kind: "changes", version, events, more: rows.length > REVOCATION_CHANGES_PAGE };
  }

  /** Drops events whose entries have expired and raises the floor past them. */
  prune(now: number): void {
    const pruned = this.sql
      .exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM revocation_event WHERE expires_at <= ?", now)
      .one().seq;
    if (pruned === null) return;
    this.sql.exec("DELETE FROM revocation_event WHERE expires_at <= ?", now);
    this.sql.exec("UPDATE meta SET value = max(value, ?) WHERE key = ?", pruned, ORG_STATE_META.logFloor);
  }

  /** The highest seq that may be missing from the log (see the class comment). */
  floor(): number {
    return this.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = ?", ORG_STATE_META.logFloor).one()
      .value;
  }
}
