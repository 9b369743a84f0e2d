/**
 * The cron's prune of `session_org` (workers/token/src/maintenance/prune-expired.ts):
 * a (session, org) row goes only once every token minted under it has
 * expired — its `not_after` (the session expiry its mints read) plus the
 * longest access-token lifetime, the clock tolerance and the margin — and
 * no session live by its `expires_at` has its id. Clock values are passed
 * in; nothing sleeps.
 */
import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import migration0022 from "../../migrations/0022_prune_indexes.sql?raw";
import { CLOCK_TOLERANCE_SECONDS, MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../shared/contracts/tokens.ts";
import {
  PRUNE_BATCH_ROWS,
  PRUNE_MARGIN_SECONDS,
  pruneExpiredRows,
} from "../../workers/token/src/maintenance/prune-expired.ts";
import { runCron } from "./cron-fixture.ts";
import { AUDIENCE, seedSession } from "./fixtures.ts";

/** How long past `not_after` a row is kept: a token minted under it may live until `not_after` at most, the prune adds the rest. */
const KEPT_MS = (MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS + PRUNE_MARGIN_SECONDS) * 1000;
const DAY_MS = 86_400_000;

type Seeded = Awaited<ReturnType<typeof seedSession>>;

async function mint(s: Seeded): Promise<string> {
  const result = await exports.TokenService.exchangeSession({ sessionToken: s.token, audience: AUDIENCE });
  expect(result.status).toBe(200);
  return String(result.body.access_token);
}

async function rowOf(s: { sessionId: string }): Promise<{ org_id: string; not_after: number | null } | null> {
  return env.DB.prepare("SELECT org_id, not_after FROM session_org WHERE session_id = ?")
    .bind(s.sessionId)
    .first<{ org_id: string; not_after: number | null }>();
}

async function sessionExpiry(s: Seeded): Promise<number> {
  const row = await env.DB.prepare("SELECT expires_at FROM session WHERE id = ?")
    .bind(s.sessionId)
    .first<{ expires_at: number }>();
  return row!.expires_at;
}

function setSessionExpiry(s: Seeded, expiresAt: number) {
  return env.DB.prepare("UPDATE session SET expires_at = ? WHERE id = ?").bind(expiresAt, s.sessionId).run();
}

/** A row as a token Worker older than migration 0022 wrote it: no `not_after`. */
function undatedRow(sessionId: string, orgId: string) {
  return env.DB.prepare("INSERT INTO session_org (session_id, org_id, created_at) VALUES (?, ?, ?)").bind(
    sessionId,
    orgId,
    Date.now(),
  );
}

describe("a mint dates its session_org row", () => {
  it("records the session's expiry as not_after, and the token ends by it", async () => {
    const s = await seedSession({ expiresInMs: 30 * 60_000 });
    const token = await mint(s);
    const row = await rowOf(s);
    expect(row).toEqual({ org_id: s.orgId, not_after: await sessionExpiry(s) });
    expect(decodeJwt(token).exp! * 1000).toBeLessThanOrEqual(row!.not_after!);
  });

  it("raises not_after when the session was refreshed, and never lowers it", async () => {
    const s = await seedSession({ expiresInMs: 30 * 60_000 });
    await mint(s);
    const first = (await rowOf(s))!.not_after!;
    await setSessionExpiry(s, first + DAY_MS);
    await mint(s);
    expect((await rowOf(s))!.not_after).toBe(first + DAY_MS);
    // An expiry moved earlier (still live): tokens minted before may still run to the later one.
    await setSessionExpiry(s, first + 60_000);
    await mint(s);
    expect((await rowOf(s))!.not_after).toBe(first + DAY_MS);
  });

  it("dates an undated row at the next mint", async () => {
    const s = await seedSession();
    await undatedRow(s.sessionId, s.orgId).run();
    await mint(s);
    expect((await rowOf(s))!.not_after).toBe(await sessionExpiry(s));
  });

  it("concurrent mints and a prune leave the one row, dated, and every mint succeeds", async () => {
    const s = await seedSession();
    await undatedRow(s.sessionId, s.orgId).run();
    const expiry = await sessionExpiry(s);
    const results = await Promise.all([
      ...Array.from({ length: 5 }, () =>
        exports.TokenService.exchangeSession({ sessionToken: s.token, audience: AUDIENCE }),
      ),
      pruneExpiredRows(env.DB, Date.now()),
    ]);
    expect(results.slice(0, 5).map((r) => (r as { status: number }).status)).toEqual([200, 200, 200, 200, 200]);
    expect(await rowOf(s)).toEqual({ org_id: s.orgId, not_after: expiry });
  });
});

describe("the cron prunes session_org", () => {
  it("an expired session: its row goes once not_after plus the token lifetime and margin has passed, not before", async () => {
    const s = await seedSession({ expiresInMs: 10 * 60_000 });
    await mint(s);
    const notAfter = (await rowOf(s))!.not_after!;

    await pruneExpiredRows(env.DB, notAfter + KEPT_MS);
    expect(await rowOf(s)).not.toBeNull();
    // The expired session stays while a row names it (a person's cut-off finds the row through it).
    expect(await sessionExpiry(s)).toBe(notAfter);

    const counts = await pruneExpiredRows(env.DB, notAfter + KEPT_MS + 1);
    expect(counts.sessionOrgs).toBeGreaterThanOrEqual(1);
    expect(await rowOf(s)).toBeNull();
    // Then the session goes in the same run (test/token/prune-dead-rows.test.ts).
    expect(counts.sessions).toBeGreaterThanOrEqual(1);
    expect(await env.DB.prepare("SELECT id FROM session WHERE id = ?").bind(s.sessionId).first()).toBeNull();
  });

  it("a session gone (ended without the hooks, as a ban's sweep ends it): kept while a token minted under it may live", async () => {
    const s = await seedSession({ expiresInMs: 60 * 60_000 });
    await mint(s);
    const notAfter = (await rowOf(s))!.not_after!;
    await env.DB.prepare("DELETE FROM session WHERE id = ?").bind(s.sessionId).run();

    // Just after the end (a sign-out's after hook may still be reading), and up to the last moment.
    await pruneExpiredRows(env.DB, Date.now());
    expect(await rowOf(s)).not.toBeNull();
    await pruneExpiredRows(env.DB, notAfter + KEPT_MS);
    expect(await rowOf(s)).not.toBeNull();

    await pruneExpiredRows(env.DB, notAfter + KEPT_MS + 1);
    expect(await rowOf(s)).toBeNull();
  });

  it("a live session keeps its row even once every token under it has expired", async () => {
    const s = await seedSession({ expiresInMs: 10 * 60_000 });
    await mint(s);
    const notAfter = (await rowOf(s))!.not_after!;
    // Refreshed (used in the browser) with no mint since: live by its expires_at.
    const refreshed = notAfter + 7 * DAY_MS;
    await setSessionExpiry(s, refreshed);

    await pruneExpiredRows(env.DB, notAfter + KEPT_MS + 1);
    await pruneExpiredRows(env.DB, refreshed);
    expect(await rowOf(s)).toEqual({ org_id: s.orgId, not_after: notAfter });

    // Once it has expired too, the row goes.
    await pruneExpiredRows(env.DB, refreshed + 1);
    expect(await rowOf(s)).toBeNull();
  });

  it("an undated row is dated once its session is gone or expired, and pruned a lifetime later; a live session's stays", async () => {
    const live = await seedSession({ expiresInMs: 2 * DAY_MS });
    const expired = await seedSession();
    const gone = { sessionId: `s-gone-${crypto.randomUUID()}`, orgId: `org-gone-${crypto.randomUUID()}` };
    await env.DB.batch([
      undatedRow(live.sessionId, live.orgId),
      undatedRow(expired.sessionId, expired.orgId),
      undatedRow(gone.sessionId, gone.orgId),
    ]);
    const now = Date.now();
    await setSessionExpiry(expired, now - 1);

    const counts = await pruneExpiredRows(env.DB, now);
    expect(counts.sessionOrgsDated).toBeGreaterThanOrEqual(2);
    expect(await rowOf(gone)).toEqual({ org_id: gone.orgId, not_after: now });
    expect(await rowOf(expired)).toEqual({ org_id: expired.orgId, not_after: now });
    expect(await rowOf(live)).toEqual({ org_id: live.orgId, not_after: null });

    await pruneExpiredRows(env.DB, now + KEPT_MS);
    expect(await rowOf(gone)).not.toBeNull();
    expect(await rowOf(expired)).not.toBeNull();

    await pruneExpiredRows(env.DB, now + KEPT_MS + 1);
    expect(await rowOf(gone)).toBeNull();
    expect(await rowOf(expired)).toBeNull();
    expect(await rowOf(live)).toEqual({ org_id: live.orgId, not_after: null });
  });

  it("migration 0022 dates the rows already there: a session's expiry, or the migration's moment once it is gone or expired", async () => {
    const live = await seedSession();
    const expired = await seedSession();
    const gone = { sessionId: `s-gone-${crypto.randomUUID()}`, orgId: `org-gone-${crypto.randomUUID()}` };
    await env.DB.batch([
      undatedRow(live.sessionId, live.orgId),
      undatedRow(expired.sessionId, expired.orgId),
      undatedRow(gone.sessionId, gone.orgId),
    ]);
    const longAgo = Date.now() - DAY_MS;
    await setSessionExpiry(expired, longAgo);
    const backfill = migration0022
      .split("--> statement-breakpoint")
      .map((statement) => statement.replace(/^\s*--.*$/gm, "").trim())
      .find((statement) => statement.startsWith("UPDATE `session_org`"));
    expect(backfill).toBeDefined();

    const before = Date.now();
    await env.DB.prepare(`${backfill!.replace(/;$/, "")} WHERE session_id IN (?, ?, ?)`)
      .bind(live.sessionId, expired.sessionId, gone.sessionId)
      .run();

    expect((await rowOf(live))!.not_after).toBe(await sessionExpiry(live));
    // D1's clock, not the test's: at least the moment before the statement ran, less the slack the other prune tests allow.
    expect((await rowOf(expired))!.not_after).toBeGreaterThan(longAgo);
    expect((await rowOf(expired))!.not_after).toBeGreaterThanOrEqual(before - 60_000);
    expect((await rowOf(gone))!.not_after).toBeGreaterThanOrEqual(before - 60_000);
  });

  it("deletes at most PRUNE_BATCH_ROWS rows a run; the next run takes the rest", async () => {
    const now = Date.now();
    // Expired rows other files of this runtime left (vitest.config.ts) would share the run's slots: pruned first,
    // until a run takes fewer than a batch, so the counts below are this test's rows alone.
    let othersPruned: number;
    do {
      othersPruned = (await pruneExpiredRows(env.DB, now)).sessionOrgs;
    } while (othersPruned === PRUNE_BATCH_ROWS);
    const prefix = `s-bulk-${crypto.randomUUID()}`;
    const orgId = `org-bulk-${crypto.randomUUID()}`;
    const total = PRUNE_BATCH_ROWS + 7;
    await env.DB.batch(
      Array.from({ length: total }, (_, i) =>
        env.DB.prepare("INSERT INTO session_org (session_id, org_id, created_at, not_after) VALUES (?, ?, ?, ?)").bind(
          `${prefix}-${i}`,
          orgId,
          now - 2 * KEPT_MS,
          now - KEPT_MS - 1,
        ),
      ),
    );
    const left = async () =>
      (
        await env.DB.prepare("SELECT count(*) AS n FROM session_org WHERE session_id LIKE ?")
          .bind(`${prefix}-%`)
          .first<{ n: number }>()
      )?.n;

    expect((await pruneExpiredRows(env.DB, now)).sessionOrgs).toBe(PRUNE_BATCH_ROWS);
    expect(await left()).toBe(7);
    expect((await pruneExpiredRows(env.DB, now)).sessionOrgs).toBe(7);
    expect(await left()).toBe(0);
  });

  it("runs from the token Worker's cron", async () => {
    const sessionId = `s-cron-${crypto.randomUUID()}`;
    await env.DB.prepare("INSERT INTO session_org (session_id, org_id, created_at, not_after) VALUES (?, ?, ?, ?)")
      .bind(sessionId, `org-cron-${crypto.randomUUID()}`, Date.now() - 2 * DAY_MS, Date.now() - DAY_MS)
      .run();
    await runCron();
    expect(await rowOf({ sessionId })).toBeNull();
  });
});
