import { DurableObject } from "cloudflare:workers";
import type { MintLimiterRpc, MintLimitVerdict } from "../../../shared/contracts/mint-limit.ts";

/**
 * One client's mint count (shared/contracts/mint-limit.ts). A Durable Object
 * runs one call's synchronous storage work at a time, so concurrent mints
 * cannot both take the last slot. The window slides: the previous fixed
 * window's count is weighted by how much of it still overlaps the last
 * `windowSeconds` (so a burst at a window's edge cannot double the limit).
 *
 * Storage (SQLite, docs/storage-schema.md): `mint_window(start PRIMARY KEY,
 * count)`, at most the current and the previous window.
 */
export class MintLimiter extends DurableObject implements MintLimiterRpc {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS mint_window (start INTEGER PRIMARY KEY, count INTEGER NOT NULL)");
  }

  async take(limit: number, windowSeconds: number): Promise<MintLimitVerdict> {
    if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(windowSeconds) || windowSeconds < 1) {
      throw new RangeError("limit and windowSeconds must be positive integers");
    }
    const nowMs = Date.now();
    const windowMs = windowSeconds * 1000;
    const start = Math.floor(nowMs / windowMs) * windowMs;
    const previousStart = start - windowMs;
    this.sql.exec("DELETE FROM mint_window WHERE start < ?", previousStart);
    const count = (at: number) =>
      this.sql.exec<{ count: number }>("SELECT count FROM mint_window WHERE start = ?", at).toArray()[0]?.count ?? 0;
    const current = count(start);
    const previous = count(previousStart);
    if (estimate(current, previous, nowMs - start, windowMs) >= limit) {
      return {
        allowed: false,
        retryAfterSeconds: secondsUntilAllowed(current, previous, nowMs - start, windowMs, limit),
      };
    }
    this.sql.exec(
      "INSERT INTO mint_window (start, count) VALUES (?, 1) ON CONFLICT (start) DO UPDATE SET count = count + 1",
      start,
    );
    return { allowed: true, retryAfterSeconds: 0 };
  }
}

/** The sliding-window count: this window's mints plus the overlapping share of the previous window's. */
function estimate(current: number, previous: number, elapsedMs: number, windowMs: number): number {
  return current + previous * (1 - elapsedMs / windowMs);
}

/**
 * The first whole second from now at which one more mint fits, by the same
 * estimate (at most two windows ahead: by then both counts have aged out).
 */
function secondsUntilAllowed(
  current: number,
  previous: number,
  elapsedMs: number,
  windowMs: number,
  limit: number,
): number {
  const windowSeconds = windowMs / 1000;
  for (let seconds = 1; seconds < 2 * windowSeconds; seconds++) {
    const at = elapsedMs + seconds * 1000;
    const fits =
      at < windowMs
        ? estimate(current, previous, at, windowMs) < limit
        : estimate(0, current, at - windowMs, windowMs) < limit;
    if (fits) return seconds;
  }
  return 2 * windowSeconds;
}
