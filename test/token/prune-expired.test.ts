/**
 * The cron's bounded prune (workers/token/src/maintenance/prune-expired.ts):
 * only rows past their use plus the margin go; live rows, rows within the
 * margin, a still-blocking throttle row, a rotated-away refresh token
 * before its own expiry, and a refresh token whose access token still
 * lives all stay.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SIGN_IN_THROTTLE_POLICY } from "../../shared/contracts/sign-in-throttle.ts";
import { CLOCK_TOLERANCE_SECONDS } from "../../shared/contracts/tokens.ts";
import { PRUNE_BATCH_ROWS, PRUNE_MARGIN_SECONDS } from "../../workers/token/src/maintenance/prune-expired.ts";
import { runCron } from "./cron-fixture.ts";

const MARGIN_MS = PRUNE_MARGIN_SECONDS * 1000;
const TOLERANCE_MS = CLOCK_TOLERANCE_SECONDS * 1000;
const WINDOW_MS = SIGN_IN_THROTTLE_POLICY.windowSeconds * 1000;
/** Well clear of the cut-offs either way, so the test's and the cron's clocks never decide an outcome. */
const SLACK_MS = 60_000;

async function present(table: string, column: string, values: string[]): Promise<string[]> {
  const rows = await env.DB.prepare(
    `SELECT ${column} AS v FROM ${table} WHERE ${column} IN (${values.map(() => "?").join(", ")}) ORDER BY ${column}`,
  )
    .bind(...values)
    .all<{ v: string }>();
  return rows.results.map((r) => r.v);
}

describe("the cron prunes oidc_client_assertion", () => {
  it("deletes a used jti only past its exp plus the clock tolerance and the margin", async () => {
    const now = Date.now();
    const id = (name: string) => `jti-${name}-${crypto.randomUUID()}`;
    const rows = {
      longExpired: id("a"),
      pastToleranceWithinMargin: id("b"),
      withinTolerance: id("c"),
      live: id("d"),
    };
    await env.DB.batch(
      [
        [rows.longExpired, now - TOLERANCE_MS - MARGIN_MS - SLACK_MS],
        [rows.pastToleranceWithinMargin, now - TOLERANCE_MS - SLACK_MS],
        [rows.withinTolerance, now - 1000],
        [rows.live, now + SLACK_MS],
      ].map(([rowId, expiresAt]) =>
        env.DB.prepare("INSERT INTO oidc_client_assertion (id, expires_at) VALUES (?, ?)").bind(rowId, expiresAt),
      ),
    );

    await runCron();

    const kept = [rows.pastToleranceWithinMargin, rows.withinTolerance, rows.live].sort();
    expect(await present("oidc_client_assertion", "id", Object.values(rows))).toEqual(kept);
  });

  it("a replay of a still-valid assertion still collides with its kept row after the cron", async () => {
    const now = Date.now();
    const jti = `jti-replay-${crypto.randomUUID()}`;
    await env.DB.prepare("INSERT INTO oidc_client_assertion (id, expires_at) VALUES (?, ?)")
      .bind(jti, now + SLACK_MS)
      .run();

    await runCron();

    // Better Auth consumes a jti by inserting its row (consumeClientAssertion):
    // the replay's insert must still fail on the primary key.
    await expect(
      env.DB.prepare("INSERT INTO oidc_client_assertion (id, expires_at) VALUES (?, ?)")
        .bind(jti, now + SLACK_MS)
        .run(),
    ).rejects.toThrow(/UNIQUE constraint failed/);
  });

  it("deletes at most PRUNE_BATCH_ROWS rows a run; the next run takes the rest", async () => {
    const expiresAt = Date.now() - TOLERANCE_MS - MARGIN_MS - SLACK_MS;
    const prefix = `jti-bulk-${crypto.randomUUID()}`;
    const total = PRUNE_BATCH_ROWS + 7;
    const inserts = Array.from({ length: total }, (_, i) =>
      env.DB.prepare("INSERT INTO oidc_client_assertion (id, expires_at) VALUES (?, ?)").bind(
        `${prefix}-${i}`,
        expiresAt,
      ),
    );
    await env.DB.batch(inserts);
    const left = async () =>
      (
        await env.DB.prepare("SELECT count(*) AS n FROM oidc_client_assertion WHERE id LIKE ?")
          .bind(`${prefix}-%`)
          .first<{ n: number }>()
      )?.n;

    await runCron();
    expect(await left()).toBe(7);
    await runCron();
    expect(await left()).toBe(0);
  });
});

describe("the cron prunes sign_in_throttle", () => {
  it("deletes account and address rows whose run is over and that no longer block; keeps the rest", async () => {
    const now = Date.now();
    const key = (kind: string, name: string) => `${kind}:prune-${name}-${crypto.randomUUID()}`;
    const rows = {
      addressOver: key("address", "a"),
      accountOver: key("account", "b"),
      addressOverStillBlocked: key("address", "c"),
      addressOverWithinMargin: key("address", "d"),
      addressCurrentRun: key("address", "e"),
    };
    const old = now - WINDOW_MS - MARGIN_MS - SLACK_MS;
    await env.DB.batch(
      [
        [rows.addressOver, old, old + 2000],
        [rows.accountOver, old, old],
        [rows.addressOverStillBlocked, old, now + SLACK_MS],
        [rows.addressOverWithinMargin, now - WINDOW_MS - SLACK_MS, now - WINDOW_MS - SLACK_MS],
        [rows.addressCurrentRun, now - SLACK_MS, now - SLACK_MS],
      ].map(([k, first, blocked]) =>
        env.DB.prepare(
          "INSERT INTO sign_in_throttle (key, failures, first_failure_at, blocked_until) VALUES (?, 30, ?, ?)",
        ).bind(k, first, blocked),
      ),
    );

    await runCron();

    const kept = [rows.addressOverStillBlocked, rows.addressOverWithinMargin, rows.addressCurrentRun].sort();
    expect(await present("sign_in_throttle", "key", Object.values(rows))).toEqual(kept);
  });
});

describe("the cron prunes oidc_access_token and oidc_refresh_token", () => {
  async function client(): Promise<{ clientId: string; userId: string }> {
    const id = crypto.randomUUID();
    await env.DB.batch([
      env.DB.prepare("INSERT INTO user (id, name, email) VALUES (?, 'Prune', ?)").bind(`u-${id}`, `${id}@example.test`),
      env.DB.prepare("INSERT INTO oidc_client (id, client_id, redirect_uris) VALUES (?, ?, '[]')").bind(id, `rp-${id}`),
    ]);
    return { clientId: `rp-${id}`, userId: `u-${id}` };
  }

  function refreshToken(
    c: { clientId: string; userId: string },
    id: string,
    expiresAt: number,
    extra: { revoked?: number; rotatedAt?: number; replayUntil?: number } = {},
  ) {
    return env.DB.prepare(
      `INSERT INTO oidc_refresh_token (id, token, client_id, user_id, expires_at, created_at, revoked, rotated_at,
         rotation_replay_expires_at, scopes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '["openid","offline_access"]')`,
    ).bind(
      id,
      `tok-${id}`,
      c.clientId,
      c.userId,
      expiresAt,
      expiresAt - 86_400_000,
      extra.revoked ?? null,
      extra.rotatedAt ?? null,
      extra.replayUntil ?? null,
    );
  }

  function accessToken(c: { clientId: string; userId: string }, id: string, expiresAt: number, refreshId?: string) {
    return env.DB.prepare(
      `INSERT INTO oidc_access_token (id, token, client_id, user_id, refresh_id, expires_at, created_at, scopes)
         VALUES (?, ?, ?, ?, ?, ?, ?, '["openid"]')`,
    ).bind(id, `tok-${id}`, c.clientId, c.userId, refreshId ?? null, expiresAt, expiresAt - 600_000);
  }

  it("deletes access tokens only past expires_at plus the margin", async () => {
    const c = await client();
    const now = Date.now();
    const rows = { expired: `at-a-${c.clientId}`, withinMargin: `at-b-${c.clientId}`, live: `at-c-${c.clientId}` };
    await env.DB.batch([
      accessToken(c, rows.expired, now - MARGIN_MS - SLACK_MS),
      accessToken(c, rows.withinMargin, now - SLACK_MS),
      accessToken(c, rows.live, now + SLACK_MS),
    ]);

    await runCron();

    expect(await present("oidc_access_token", "id", Object.values(rows))).toEqual(
      [rows.withinMargin, rows.live].sort(),
    );
  });

  it("keeps a rotated-away refresh token until its own expiry, and one whose access token still lives", async () => {
    const c = await client();
    const now = Date.now();
    const expired = now - MARGIN_MS - SLACK_MS;
    const rt = {
      expired: `rt-a-${c.clientId}`,
      expiredRotated: `rt-b-${c.clientId}`,
      rotatedNotExpired: `rt-c-${c.clientId}`,
      expiredWithLiveAccess: `rt-d-${c.clientId}`,
      expiredWithinMargin: `rt-e-${c.clientId}`,
      live: `rt-f-${c.clientId}`,
    };
    const at = {
      ofExpired: `at-a-${c.clientId}`,
      liveOfExpiredRefresh: `at-d-${c.clientId}`,
    };
    await env.DB.batch([
      refreshToken(c, rt.expired, expired),
      refreshToken(c, rt.expiredRotated, expired, { revoked: expired - 5000, rotatedAt: expired - 5000 }),
      // Rotated away (so `revoked` set) but not yet expired: its row is what
      // tells a replay apart from an unknown token (RFC 9700 §4.14.2).
      refreshToken(c, rt.rotatedNotExpired, now + SLACK_MS, { revoked: now - SLACK_MS, rotatedAt: now - SLACK_MS }),
      refreshToken(c, rt.expiredWithLiveAccess, expired),
      refreshToken(c, rt.expiredWithinMargin, now - SLACK_MS),
      refreshToken(c, rt.live, now + 86_400_000),
      accessToken(c, at.ofExpired, expired, rt.expired),
      accessToken(c, at.liveOfExpiredRefresh, now + SLACK_MS, rt.expiredWithLiveAccess),
    ]);

    await runCron();

    expect(await present("oidc_refresh_token", "id", Object.values(rt))).toEqual(
      [rt.rotatedNotExpired, rt.expiredWithLiveAccess, rt.expiredWithinMargin, rt.live].sort(),
    );
    expect(await present("oidc_access_token", "id", Object.values(at))).toEqual([at.liveOfExpiredRefresh]);
  });
});
