import { DurableObject } from "cloudflare:workers";
import type { MintLimiterRpc, MintLimitVerdict } from "../../../shared/contracts/mint-limit.ts";

/**
 * One client's mint count (shared/contracts/mint-limit.ts). A Durable Object
 * runs one call's synchronous storage work at a time, so concurrent mints
 * cannot both take the last slot. The window slides: the previous fixed
 * window's count is weighted by how much of it still overlaps the last
 * `windowSeconds` (so a burst at a window's edge cannot double the limit).
 * A caller may take several mints at once (workers/token/src/clients/mint-limit.ts
 * spends them from its isolate); they count when handed out, so the limit
 * holds however many isolates hold some.
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

  async take(limit: number, windowSeconds: number, wanted = 1): Promise<MintLimitVerdict> {
    if (![limit, windowSeconds, wanted].every((n) => Number.isInteger(n) && n >= 1)) {
      throw new RangeError("limit, windowSeconds and wanted must be positive integers");
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
    const windowEndsAt = start + windowMs;
    // One more mint fits while the estimate is below the limit, so k more fit while estimate + k - 1 < limit.
    const fits = Math.ceil(limit - estimate(current, previous, nowMs - start, windowMs));
    if (fits < 1) {
      return {
        allowed: false,
        granted: 0,
        retryAfterSeconds: secondsUntilAllowed(current, previous, nowMs - start, windowMs, limit),
        windowEndsAt,
      };
    }
    const granted = Math.min(wanted, fits);
    this.sql.exec(
      "INSERT INTO mint_window (start, count) VALUES (?, ?) ON CONFLICT (start) DO UPDATE SET count = count + excluded.count",
      start,
      granted,
    );
    return { allowed: true, granted, retryAfterSeconds: 0, windowEndsAt };
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
