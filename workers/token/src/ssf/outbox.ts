/** One SET waiting for a stream: pushed until the receiver takes it, or held until a poll acknowledges it. */
export interface OutboxRow {
  stream_id: string;
  jti: string;
  set_jwt: string;
  attempts: number;
}

/**
 * The SETs of one org's streams that are not yet delivered (push) or not yet
 * acknowledged (poll), in the org's SsfTransmitter SQLite: strongly
 * consistent, so an acknowledged SET is gone for good and a pushed one is
 * removed only once the receiver answered. Rows older than the retention
 * are dropped (every revocation they describe has expired long before).
 */
export class Outbox {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS outbox (
        stream_id TEXT NOT NULL,
        jti TEXT NOT NULL,
        set_jwt TEXT NOT NULL,
        push INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        PRIMARY KEY (stream_id, jti)
      );
      CREATE INDEX IF NOT EXISTS outbox_due ON outbox (push, next_attempt_at);
      CREATE INDEX IF NOT EXISTS outbox_order ON outbox (stream_id, created_at);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
  }

  add(streamId: string, jti: string, jwt: string, push: boolean, now: number): void {
    this.sql.exec(
      "INSERT OR IGNORE INTO outbox (stream_id, jti, set_jwt, push, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
      streamId,
      jti,
      jwt,
      push ? 1 : 0,
      now,
      now,
    );
  }

  /** Push rows due now, oldest first. */
  due(now: number, limit: number): OutboxRow[] {
    return this.sql
      .exec<{ stream_id: string; jti: string; set_jwt: string; attempts: number }>(
        "SELECT stream_id, jti, set_jwt, attempts FROM outbox WHERE push = 1 AND next_attempt_at <= ? ORDER BY created_at, rowid LIMIT ?",
        now,
        limit,
      )
      .toArray()
      .map((row) => ({ ...row }));
  }

  /** The earliest time a push row falls due, if any. */
  nextDue(): number | undefined {
    const row = this.sql
      .exec<{ at: number | null }>("SELECT min(next_attempt_at) AS at FROM outbox WHERE push = 1")
      .one();
    return row.at ?? undefined;
  }

  remove(streamId: string, jti: string): void {
    this.sql.exec("DELETE FROM outbox WHERE stream_id = ? AND jti = ?", streamId, jti);
  }

  retryLater(streamId: string, jti: string, nextAttemptAt: number, error: string): void {
    this.sql.exec(
      "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE stream_id = ? AND jti = ?",
      nextAttemptAt,
      error,
      streamId,
      jti,
    );
  }

  /** Holds a stream's push rows (paused) until `until`. */
  holdStream(streamId: string, until: number): void {
    this.sql.exec("UPDATE outbox SET next_attempt_at = ? WHERE stream_id = ? AND push = 1", until, streamId);
  }

  /** A stream that now delivers by `push` (or poll): its waiting rows follow. */
  setStreamMethod(streamId: string, push: boolean, now: number): void {
    this.sql.exec("UPDATE outbox SET push = ?, next_attempt_at = ? WHERE stream_id = ?", push ? 1 : 0, now, streamId);
  }

  dropStream(streamId: string): void {
    this.sql.exec("DELETE FROM outbox WHERE stream_id = ?", streamId);
  }

  /** RFC 8936 §2.4: acknowledged (or reported as errors) SETs are never returned again. */
  acknowledge(streamId: string, jtis: readonly string[]): void {
    for (const jti of jtis) this.remove(streamId, jti);
  }

  /** Up to `limit` unacknowledged SETs of a poll stream, oldest first, and whether more wait. */
  unacknowledged(streamId: string, limit: number): { rows: OutboxRow[]; more: boolean } {
    const rows = this.sql
      .exec<{ stream_id: string; jti: string; set_jwt: string; attempts: number }>(
        "SELECT stream_id, jti, set_jwt, attempts FROM outbox WHERE stream_id = ? AND push = 0 ORDER BY created_at, rowid LIMIT ?",
        streamId,
        limit + 1,
      )
      .toArray()
      .map((row) => ({ ...row }));
    return { rows: rows.slice(0, limit), more: rows.length > limit };
  }

  /** For operators and tests: what waits for a stream, and the most attempts any of it took. */
  stats(streamId: string): { waiting: number; maxAttempts: number; lastError: string | null } {
    const row = this.sql
      .exec<{ waiting: number; max_attempts: number | null; last_error: string | null }>(
        "SELECT count(*) AS waiting, max(attempts) AS max_attempts, max(last_error) AS last_error FROM outbox WHERE stream_id = ?",
        streamId,
      )
      .one();
    return { waiting: row.waiting, maxAttempts: row.max_attempts ?? 0, lastError: row.last_error };
  }

  /** Drops SETs older than `olderThan`, and each stream's oldest past `maxPerStream`. */
  prune(olderThan: number, maxPerStream: number): void {
    this.sql.exec("DELETE FROM outbox WHERE created_at < ?", olderThan);
    const crowded = this.sql
      .exec<{ stream_id: string }>("SELECT stream_id FROM outbox GROUP BY stream_id HAVING count(*) > ?", maxPerStream)
      .toArray();
    for (const { stream_id } of crowded) {
      this.sql.exec(
        `DELETE FROM outbox WHERE rowid IN (
           SELECT rowid FROM outbox WHERE stream_id = ? ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)`,
        stream_id,
        maxPerStream,
      );
    }
  }

  getMeta(key: string): string | undefined {
    return this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
  }

  deleteMeta(key: string): void {
    this.sql.exec("DELETE FROM meta WHERE key = ?", key);
  }

  setMeta(key: string, value: string): void {
    this.sql.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }
}
