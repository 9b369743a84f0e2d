import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { replayGuardName } from "../../shared/contracts/replay.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { CLOCK_TOLERANCE_SECONDS, MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../shared/contracts/tokens.ts";

function stub(orgId: string) {
  return env.ORG_STATE.getByName(orgStateName(orgId));
}

describe("OrgState: revocations", () => {
  it("records each kind, bumps the version, and serves them in a snapshot", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const s = stub(org);
    expect(await s.revoke({ orgId: org, kind: "session", value: "sess-1", reason: "sign-out" })).toBe(1);
    expect(await s.revoke({ orgId: org, kind: "subject", value: "user-1", reason: "member-removed" })).toBe(2);
    const snapshot = await s.snapshot(org);
    expect(snapshot.version).toBe(2);
    expect(snapshot.entries.map((e) => `${e.kind}:${e.value}`).sort()).toEqual(["session:sess-1", "subject:user-1"]);
  });

  it("keeps a jti entry until its token's exp plus the clock tolerance, never past the longest lifetime", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const s = stub(org);
    const now = Math.floor(Date.now() / 1000);
    await s.revoke({ orgId: org, kind: "jti", value: "short", reason: "test" }, now + 60);
    await s.revoke({ orgId: org, kind: "jti", value: "forged-long", reason: "test" }, now + 10 * 86400);
    const entries = new Map((await s.snapshot(org)).entries.map((e) => [e.value, e.expiresAt]));
    expect(entries.get("short")).toBe(now + 60 + CLOCK_TOLERANCE_SECONDS);
    expect(entries.get("forged-long")).toBeLessThanOrEqual(
      now + 1 + MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS,
    );
  });

  it("drops expired entries in its alarm and keeps storage bounded", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const s = stub(org);
    const now = Math.floor(Date.now() / 1000);
    await s.revoke({ orgId: org, kind: "jti", value: "old", reason: "test" }, now - 3600);
    await s.revoke({ orgId: org, kind: "jti", value: "live", reason: "test" }, now + 600);
    // The first entry's alarm is due at once: the runtime may already be
    // running it (then there is nothing scheduled for the test to run), so
    // wait for its effect rather than for either alarm in particular.
    await runDurableObjectAlarm(s);
    const remaining = () =>
      runInDurableObject(s, (_instance, state) =>
        state.storage.sql
          .exec<{ value: string }>("SELECT value FROM revocation")
          .toArray()
          .map((r) => r.value),
      );
    await expect.poll(remaining).toEqual(["live"]);
  });
});

describe("ReplayGuard: single use under concurrency", () => {
  it("accepts a marker exactly once out of 1000 concurrent attempts", async () => {
    const guard = env.REPLAY_GUARD.getByName(replayGuardName(`test:${crypto.randomUUID()}`));
    const exp = Math.floor(Date.now() / 1000) + 300;
    const results = await Promise.all(Array.from({ length: 1000 }, () => guard.consume("jti-1", exp)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await guard.consume("jti-2", exp)).toBe(true);
  });

  it("forgets a marker once it has expired, in its alarm", async () => {
    const guard = env.REPLAY_GUARD.getByName(replayGuardName(`test:${crypto.randomUUID()}`));
    const now = Math.floor(Date.now() / 1000);
    expect(await guard.consume("soon", now + 1)).toBe(true);
    expect(await guard.consume("later", now + 600)).toBe(true);
    await runInDurableObject(guard, (_instance, state) =>
      state.storage.sql.exec("UPDATE used SET expires_at = 0 WHERE value = 'soon'"),
    );
    // The runtime may fire the first marker's alarm itself at any moment;
    // wait for the effect, whichever alarm run produces it.
    await runDurableObjectAlarm(guard);
    const rows = () =>
      runInDurableObject(guard, (_instance, state) =>
        state.storage.sql
          .exec<{ value: string }>("SELECT value FROM used")
          .toArray()
          .map((r) => r.value),
      );
    await expect.poll(rows).toEqual(["later"]);
  });
});
