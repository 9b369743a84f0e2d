import { DurableObject } from "cloudflare:workers";
import { MARKER_HOLDER_PATTERN, type ReplayGuardRpc } from "../../../shared/contracts/replay.ts";
import { Turns } from "./turns.ts";

/** Longest a marker is kept, whatever a caller asks: nothing it protects lives longer. */
const MAX_MARKER_SECONDS = 24 * 3600;

/**
 * One scope's used markers (shared/contracts/replay.ts). A Durable Object
 * runs one request's storage operations at a time, so `consume` is a
 * check-and-set no concurrent caller can interleave with, and so is
 * `release`. An alarm drops expired markers, so storage stays bounded by
 * what is still live. `takeTurn` orders overlapping uses of one value
 * (turns.ts), in memory only.
 *
 * Storage (SQLite, docs/storage-schema.md): `used(value PRIMARY KEY,
 * expires_at, holder)`; `holder` is null for a marker no one may release.
 */
export class ReplayGuard extends DurableObject implements ReplayGuardRpc {
  private readonly sql: SqlStorage;
  private readonly turns = new Turns();

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS used (value TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, holder TEXT)");
    // An object whose table was made before markers had holders lacks the column.
    const columns = this.sql.exec<{ name: string }>("PRAGMA table_info(used)").toArray();
    if (!columns.some((column) => column.name === "holder")) this.sql.exec("ALTER TABLE used ADD COLUMN holder TEXT");
  }

  async consume(value: string, expiresAt: number, holder?: string): Promise<boolean> {
    checkMarker(value);
    if (holder !== undefined) checkHolder(holder);
    if (typeof expiresAt !== "number" || !Number.isFinite(expiresAt))
      throw new RangeError("expiresAt must be a number");
    const now = Math.floor(Date.now() / 1000);
    const until = Math.min(Math.max(Math.floor(expiresAt), now + 1), now + MAX_MARKER_SECONDS);
    // A marker past its time is dead weight the alarm has not reached yet;
    // it no longer blocks (the caller refuses the expired thing itself).
    const inserted = this.sql
      .exec<{ value: string }>(
        `INSERT INTO used (value, expires_at, holder) VALUES (?, ?, ?)
         ON CONFLICT (value) DO UPDATE SET expires_at = excluded.expires_at, holder = excluded.holder
           WHERE used.expires_at <= ?
         RETURNING value`,
        value,
        until,
        holder ?? null,
        now,
      )
      .toArray();
    if (inserted.length === 0) return false;
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > until * 1000) await this.ctx.storage.setAlarm(until * 1000);
    return true;
  }

  async release(value: string, holder: string): Promise<boolean> {
    checkMarker(value);
    checkHolder(holder);
    // Only the marker this holder set: once released and taken again, the
    // value is the new holder's, and a late or repeated release from the
    // first one cannot free it for a third request.
    const released = this.sql.exec("DELETE FROM used WHERE value = ? AND holder = ? RETURNING value", value, holder);
    return released.toArray().length > 0;
  }

  async takeTurn(value: string, holder: string, leaseMs: number): Promise<boolean> {
    checkMarker(value);
    checkHolder(holder);
    return this.turns.take(value, holder, leaseMs);
  }

  async endTurn(value: string, holder: string): Promise<void> {
    checkMarker(value);
    checkHolder(holder);
    this.turns.end(value, holder);
  }

  override async alarm(): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    this.sql.exec("DELETE FROM used WHERE expires_at <= ?", now);
    const next = this.sql.exec<{ next: number | null }>("SELECT min(expires_at) AS next FROM used").one().next;
    if (next !== null) await this.ctx.storage.setAlarm(next * 1000);
  }
}

function checkMarker(value: unknown): void {
  if (typeof value !== "string" || value.length === 0 || value.length > 512) {
    throw new RangeError("marker must be 1..512 characters");
  }
}

/** The holder is the only key to a release, so it must be one no other request could make up: a random UUID. */
function checkHolder(holder: unknown): void {
  if (typeof holder !== "string" || !MARKER_HOLDER_PATTERN.test(holder)) {
    throw new RangeError("holder must be a random UUID");
  }
}
