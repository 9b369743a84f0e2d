import { DurableObject } from "cloudflare:workers";
import type { ReplayGuardRpc } from "../../../shared/contracts/replay.ts";

/** Longest a marker is kept, whatever a caller asks: nothing it protects lives longer. */
const MAX_MARKER_SECONDS = 24 * 3600;

/**
 * One scope's used markers (shared/contracts/replay.ts). A Durable Object
 * runs one request's storage operations at a time, so `consume` is a
 * check-and-set no concurrent caller can interleave with. An alarm drops
 * expired markers, so storage stays bounded by what is still live.
 *
 * Storage (SQLite, docs/storage-schema.md): `used(value PRIMARY KEY, expires_at)`.
 */
export class ReplayGuard extends DurableObject implements ReplayGuardRpc {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS used (value TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)");
  }

  async consume(value: string, expiresAt: number): Promise<boolean> {
    if (typeof value !== "string" || value.length === 0 || value.length > 512) {
      throw new RangeError("marker must be 1..512 characters");
    }
    const now = Math.floor(Date.now() / 1000);
    const until = Math.min(Math.max(Math.floor(expiresAt), now + 1), now + MAX_MARKER_SECONDS);
    // A marker past its time is dead weight the alarm has not reached yet;
    // it no longer blocks (the caller refuses the expired thing itself).
    const inserted = this.sql
      .exec<{ value: string }>(
        `INSERT INTO used (value, expires_at) VALUES (?, ?)
         ON CONFLICT (value) DO UPDATE SET expires_at = excluded.expires_at WHERE used.expires_at <= ?
         RETURNING value`,
        value,
        until,
        now,
      )
      .toArray();
    if (inserted.length === 0) return false;
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > until * 1000) await this.ctx.storage.setAlarm(until * 1000);
    return true;
  }

  override async alarm(): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    this.sql.exec("DELETE FROM used WHERE expires_at <= ?", now);
    const next = this.sql.exec<{ next: number | null }>("SELECT min(expires_at) AS next FROM used").one().next;
    if (next !== null) await this.ctx.storage.setAlarm(next * 1000);
  }
}
