/**
 * The cron's prune of rows whose absence changes no answer
 * (workers/token/src/maintenance/prune-expired.ts): expired sessions once no
 * `session_org` row names them, verification values, pending invitations,
 * and vault connect links and flows — each only past its expiry plus the
 * margin (and the clock tolerance for verification values). Live rows, rows
 * within the margin, decided invitations and a single-use guard whose link
 * can still be shown all stay. Clock values are passed in; nothing sleeps.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CLOCK_TOLERANCE_SECONDS, MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../shared/contracts/tokens.ts";
import {
  ACCOUNT_UNLOCK_TTL_SECONDS,
  createAccountUnlockToken,
  redeemAccountUnlock,
} from "../../workers/authn/src/limits/account-unlock.ts";
import {
  PRUNE_BATCH_ROWS,
  PRUNE_MARGIN_SECONDS,
  pruneExpiredRows,
} from "../../workers/token/src/maintenance/prune-expired.ts";
import { runCron } from "./cron-fixture.ts";
import { seedSession, seedUser } from "./fixtures.ts";

const MARGIN_MS = PRUNE_MARGIN_SECONDS * 1000;
const TOLERANCE_MS = CLOCK_TOLERANCE_SECONDS * 1000;
/** Well clear of the cut-offs either way, so the test's and the cron's clocks never decide an outcome. */
const SLACK_MS = 60_000;
const DAY_MS = 86_400_000;

async function present(table: string, column: string, values: string[]): Promise<string[]> {
  const rows = await env.DB.prepare(
    `SELECT ${column} AS v FROM ${table} WHERE ${column} IN (${values.map(() => "?").join(", ")}) ORDER BY ${column}`,
  )
    .bind(...values)
    .all<{ v: string }>();
  return rows.results.map((r) => r.v);
}

function insertSession(id: string, userId: string, expiresAt: number) {
  return env.DB.prepare(
    "INSERT INTO session (id, token, user_id, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
  ).bind(id, `tok-${id}`, userId, expiresAt, expiresAt - DAY_MS, expiresAt - DAY_MS);
}

describe("the cron prunes session", () => {
  it("deletes a session 300 s past expires_at that no session_org row names; keeps the rest", async () => {
    const userId = await seedUser();
    const now = Date.now();
    const id = (name: string) => `s-${name}-${crypto.randomUUID()}`;
    const rows = {
      expired: id("a"),
      expiredWithinMargin: id("b"),
      live: id("c"),
      expiredButMintedUnder: id("d"),
    };
    await env.DB.batch([
      insertSession(rows.expired, userId, now - MARGIN_MS - SLACK_MS),
      insertSession(rows.expiredWithinMargin, userId, now - SLACK_MS),
      insertSession(rows.live, userId, now + SLACK_MS),
      insertSession(rows.expiredButMintedUnder, userId, now - MARGIN_MS - SLACK_MS),
      // A token minted under it may still live: the row stays, and so does the session.
      env.DB.prepare(
        "INSERT INTO session_org (session_id, org_id, created_at, not_after) VALUES (?, 'org-prune', ?, ?)",
      ).bind(rows.expiredButMintedUnder, now - DAY_MS, now - MARGIN_MS - SLACK_MS),
    ]);

    await runCron();

    expect(await present("session", "id", Object.values(rows))).toEqual(
      [rows.expiredWithinMargin, rows.live, rows.expiredButMintedUnder].sort(),
    );
  });

  it("keeps an expired session while a person's cut-off can still reach its orgs through it, then both go in one run", async () => {
    const s = await seedSession({ expiresInMs: 10 * 60_000 });
    const expiresAt = Date.now() + 10 * 60_000;
    await env.DB.batch([
      env.DB.prepare("UPDATE session SET expires_at = ? WHERE id = ?").bind(expiresAt, s.sessionId),
      env.DB.prepare("INSERT INTO session_org (session_id, org_id, created_at, not_after) VALUES (?, ?, ?, ?)").bind(
        s.sessionId,
        s.orgId,
        Date.now(),
        expiresAt,
      ),
    ]);
    // What admin/person-cutoff.ts reads: the person's sessions, then the orgs they minted in.
    const cutOffFinds = async () =>
      (
        await env.DB.prepare(
          "SELECT o.org_id AS org FROM session s JOIN session_org o ON o.session_id = s.id WHERE s.user_id = ?",
        )
          .bind(s.userId)
          .all<{ org: string }>()
      ).results.map((r) => r.org);
    const rowKeptUntil = expiresAt + (MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS) * 1000 + MARGIN_MS;

    await pruneExpiredRows(env.DB, expiresAt + MARGIN_MS + SLACK_MS);
    await pruneExpiredRows(env.DB, rowKeptUntil);
    expect(await cutOffFinds()).toEqual([s.orgId]);

    // Both of this session's rows, not the run's counts: earlier files' expired rows go in the same run.
    await pruneExpiredRows(env.DB, rowKeptUntil + 1);
    expect(await present("session_org", "session_id", [s.sessionId])).toEqual([]);
    expect(await present("session", "id", [s.sessionId])).toEqual([]);
  });

  it("a browser OAuth grant outlives its pruned session: its tokens stay, their session_id set null", async () => {
    const userId = await seedUser();
    const id = crypto.randomUUID();
    const sessionId = `s-grant-${id}`;
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare("INSERT INTO oidc_client (id, client_id, redirect_uris) VALUES (?, ?, '[]')").bind(id, `rp-${id}`),
      insertSession(sessionId, userId, now - MARGIN_MS - SLACK_MS),
      env.DB.prepare(
        `INSERT INTO oidc_refresh_token (id, token, client_id, session_id, user_id, expires_at, created_at, scopes)
           VALUES (?, ?, ?, ?, ?, ?, ?, '["openid","offline_access"]')`,
      ).bind(`rt-${id}`, `tok-rt-${id}`, `rp-${id}`, sessionId, userId, now + 30 * DAY_MS, now - DAY_MS),
    ]);

    await runCron();

    expect(await present("session", "id", [sessionId])).toEqual([]);
    const token = await env.DB.prepare("SELECT session_id FROM oidc_refresh_token WHERE id = ?")
      .bind(`rt-${id}`)
      .first<{ session_id: string | null }>();
    expect(token).toEqual({ session_id: null });
  });
});

describe("the cron prunes verification", () => {
  function insertValue(identifier: string, expiresAt: number) {
    return env.DB.prepare(
      "INSERT INTO verification (id, identifier, value, expires_at, created_at, updated_at) VALUES (?, ?, 'v', ?, ?, ?)",
    ).bind(crypto.randomUUID(), identifier, expiresAt, expiresAt - 60_000, expiresAt - 60_000);
  }

  it("deletes a value only past expires_at plus the clock tolerance and the margin", async () => {
    const now = Date.now();
    const id = (name: string) => `prune-${name}:${crypto.randomUUID()}`;
    const rows = {
      longExpired: id("a"),
      pastToleranceWithinMargin: id("b"),
      withinTolerance: id("c"),
      live: id("d"),
    };
    await env.DB.batch([
      insertValue(rows.longExpired, now - TOLERANCE_MS - MARGIN_MS - SLACK_MS),
      insertValue(rows.pastToleranceWithinMargin, now - TOLERANCE_MS - SLACK_MS),
      insertValue(rows.withinTolerance, now - 1000),
      insertValue(rows.live, now + SLACK_MS),
    ]);

    await runCron();

    expect(await present("verification", "identifier", Object.values(rows))).toEqual(
      [rows.pastToleranceWithinMargin, rows.withinTolerance, rows.live].sort(),
    );
  });

  it("deletes at most PRUNE_BATCH_ROWS rows a run; the next run takes the rest", async () => {
    // Expired rows other files of this runtime left would share the run's slots: pruned first.
    await runCron();
    const expiresAt = Date.now() - TOLERANCE_MS - MARGIN_MS - SLACK_MS;
    const prefix = `prune-bulk:${crypto.randomUUID()}`;
    await env.DB.batch(
      Array.from({ length: PRUNE_BATCH_ROWS + 7 }, (_, i) => insertValue(`${prefix}-${i}`, expiresAt)),
    );
    const left = async () =>
      (
        await env.DB.prepare("SELECT count(*) AS n FROM verification WHERE identifier LIKE ?")
          .bind(`${prefix}-%`)
          .first<{ n: number }>()
      )?.n;

    await runCron();
    expect(await left()).toBe(7);
    await runCron();
    expect(await left()).toBe(0);
  });

  describe("a spent account-unlock link's guard row", () => {
    const secret = "prune-test-secret-0123456789abcdef";

    async function spentLink() {
      const id = crypto.randomUUID();
      const userId = await seedUser(id);
      const madeAt = Date.now();
      const token = await createAccountUnlockToken(secret, userId, `${id}@example.com`, madeAt);
      expect(await redeemAccountUnlock(env.DB, secret, token, madeAt)).toMatchObject({ unlocked: true });
      const exp = Number(token.split(".")[0]) * 1000;
      expect(exp).toBe(Math.floor(madeAt / 1000) * 1000 + ACCOUNT_UNLOCK_TTL_SECONDS * 1000);
      return { token, exp, userId };
    }

    /** The link's guard row (its `value` is the person's id: workers/authn/src/limits/account-unlock.ts). */
    async function guardRows(userId: string): Promise<number> {
      const row = await env.DB.prepare("SELECT count(*) AS n FROM verification WHERE value = ?")
        .bind(userId)
        .first<{ n: number }>();
      return row?.n ?? -1;
    }

    it("is kept while the link can still be shown: a replay at its last valid moment is link_used", async () => {
      const { token, exp } = await spentLink();

      await pruneExpiredRows(env.DB, exp - 1);

      expect(await redeemAccountUnlock(env.DB, secret, token, exp - 1)).toEqual({
        unlocked: false,
        reason: "link_used",
      });
    });

    it("goes once the link is refused as expired, and a replay then is invalid_link", async () => {
      const { token, exp, userId } = await spentLink();
      const after = exp + TOLERANCE_MS + MARGIN_MS + 1;
      expect(await guardRows(userId)).toBe(1);

      await pruneExpiredRows(env.DB, after);

      // This link's row, not the run's count: earlier files' expired verification values go in the same run.
      expect(await guardRows(userId)).toBe(0);
      expect(await redeemAccountUnlock(env.DB, secret, token, after)).toEqual({
        unlocked: false,
        reason: "invalid_link",
      });
    });

    it("a prune racing concurrent redemptions of one link lets exactly one unlock", async () => {
      const id = crypto.randomUUID();
      const userId = await seedUser(id);
      const now = Date.now();
      const token = await createAccountUnlockToken(secret, userId, `${id}@example.com`, now);

      const results = await Promise.all([
        ...Array.from({ length: 5 }, () => redeemAccountUnlock(env.DB, secret, token, now)),
        pruneExpiredRows(env.DB, now),
        ...Array.from({ length: 5 }, () => redeemAccountUnlock(env.DB, secret, token, now)),
      ]);

      const outcomes = results.filter((r): r is Awaited<ReturnType<typeof redeemAccountUnlock>> => "unlocked" in r);
      expect(outcomes.filter((r) => r.unlocked)).toHaveLength(1);
      expect(outcomes.filter((r) => !r.unlocked)).toEqual(
        Array.from({ length: 9 }, () => ({ unlocked: false, reason: "link_used" })),
      );
    });
  });
});

describe("the cron prunes invitation", () => {
  it("deletes a pending invitation 300 s past expires_at; keeps live ones, ones within the margin and decided ones", async () => {
    const s = await seedSession();
    const now = Date.now();
    const expired = now - MARGIN_MS - SLACK_MS;
    const id = (name: string) => `inv-${name}-${crypto.randomUUID()}`;
    const rows = {
      pendingExpired: id("a"),
      pendingWithinMargin: id("b"),
      pendingLive: id("c"),
      accepted: id("d"),
      rejected: id("e"),
      canceled: id("f"),
    };
    await env.DB.batch(
      (
        [
          [rows.pendingExpired, "pending", expired],
          [rows.pendingWithinMargin, "pending", now - SLACK_MS],
          [rows.pendingLive, "pending", now + 2 * DAY_MS],
          [rows.accepted, "accepted", expired],
          [rows.rejected, "rejected", expired],
          [rows.canceled, "canceled", expired],
        ] as const
      ).map(([invitationId, status, expiresAt]) =>
        env.DB.prepare(
          `INSERT INTO invitation (id, organization_id, email, role, status, expires_at, created_at, inviter_id)
             VALUES (?, ?, ?, 'member', ?, ?, ?, ?)`,
        ).bind(
          invitationId,
          s.orgId,
          `${invitationId}@example.com`,
          status,
          expiresAt,
          expiresAt - 2 * DAY_MS,
          s.userId,
        ),
      ),
    );

    await runCron();

    expect(await present("invitation", "id", Object.values(rows))).toEqual(
      [rows.pendingWithinMargin, rows.pendingLive, rows.accepted, rows.rejected, rows.canceled].sort(),
    );
  });
});

describe("the cron prunes vault_connect_link and vault_connect_state", () => {
  it("deletes links and flows only 300 s past expires_at", async () => {
    const now = Date.now();
    const orgId = `org-vault-${crypto.randomUUID()}`;
    const id = (name: string) => `${name}-${crypto.randomUUID()}`;
    const links = { expired: id("link-a"), withinMargin: id("link-b"), live: id("link-c") };
    const states = { expired: id("state-a"), withinMargin: id("state-b"), live: id("state-c") };
    const ages = { expired: now - MARGIN_MS - SLACK_MS, withinMargin: now - SLACK_MS, live: now + SLACK_MS };
    await env.DB.batch(
      (["expired", "withinMargin", "live"] as const).flatMap((age) => [
        env.DB.prepare(
          `INSERT INTO vault_connect_link (link_hash, org_id, provider_id, owner_kind, owner_id, started_by, expires_at, created_at)
             VALUES (?, ?, 'provider', 'org', ?, 'operator:mac_test', ?, ?)`,
        ).bind(links[age], orgId, orgId, ages[age], ages[age] - 3_600_000),
        env.DB.prepare(
          `INSERT INTO vault_connect_state (state_hash, org_id, provider_id, owner_kind, owner_id, bound_to, code_verifier_sealed, expires_at, created_at)
             VALUES (?, ?, 'provider', 'org', ?, 'session:s-test', 'sealed', ?, ?)`,
        ).bind(states[age], orgId, orgId, ages[age], ages[age] - 600_000),
      ]),
    );

    await runCron();

    expect(await present("vault_connect_link", "link_hash", Object.values(links))).toEqual(
      [links.withinMargin, links.live].sort(),
    );
    expect(await present("vault_connect_state", "state_hash", Object.values(states))).toEqual(
      [states.withinMargin, states.live].sort(),
    );
  });
});
