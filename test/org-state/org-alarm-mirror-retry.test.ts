import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KV_KEY, ORG_STATE_META, orgStateName } from "../../shared/contracts/storage-keys.ts";
import { MIRROR_RETRY_MAX_MS, mirrorRetryDelay } from "../../workers/org-state/src/revocation-mirror.ts";

const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));

/**
 * An org whose KV key KV refuses: `revocations:<id>` past KV's 512-byte key
 * limit. The real binding then fails every mirror write, as an outage would.
 */
const unmirrorableOrg = () => `org-${crypto.randomUUID()}-${"x".repeat(520)}`;

function meta(state: DurableObjectState, key: string): number | undefined {
  return state.storage.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
}

describe("OrgState's alarm: a KV mirror write that keeps failing", () => {
  it("does not throw, keeps its alarm due at a bounded backoff that grows with each failure, and prunes meanwhile", async () => {
    const org = unmirrorableOrg();
    await stub(org).revoke({ orgId: org, kind: "session", value: "s1", reason: "t" });
    const runs = await runInDurableObject(stub(org), async (instance, state) => {
      // An entry already expired: the alarm prunes it whatever KV does.
      state.storage.sql.exec(
        "INSERT INTO revocation (kind, value, revoked_at, expires_at) VALUES ('session', 'gone', 1, 2)",
      );
      const seen: { delay: number; failures: number | undefined }[] = [];
      for (let i = 0; i < 12; i++) {
        await state.storage.deleteAlarm();
        // The retry's turn has come (the runtime would run the alarm then, not at once).
        state.storage.sql.exec("UPDATE meta SET value = 0 WHERE key = ?", ORG_STATE_META.mirrorNotBefore);
        const before = Date.now();
        // Thrown, the runtime retried it a few times and then gave up: no alarm, no mirror, no pruning, until the next revocation.
        await instance.alarm();
        const alarm = await state.storage.getAlarm();
        expect(alarm).not.toBeNull();
        seen.push({ delay: (alarm ?? 0) - before, failures: meta(state, ORG_STATE_META.mirrorFailures) });
      }
      const pruned = state.storage.sql.exec("SELECT 1 FROM revocation WHERE value = 'gone'").toArray().length === 0;
      return { seen, pruned, mirrored: meta(state, ORG_STATE_META.mirrorVersion) };
    });
    expect(runs.pruned).toBe(true);
    expect(runs.mirrored).toBeUndefined();
    expect(runs.seen.map((run) => run.failures)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const [i, run] of runs.seen.entries()) {
      // Never sooner than the backoff for that many failures, never later than it (plus the test's own run time).
      expect(run.delay).toBeGreaterThanOrEqual(mirrorRetryDelay(i + 1) - 50);
      expect(run.delay).toBeLessThanOrEqual(mirrorRetryDelay(i + 1) + 1_000);
    }
    // Bounded: the twelfth retry waits no longer than the ceiling, which is minutes, not the first expiry's hour.
    expect(mirrorRetryDelay(12)).toBe(MIRROR_RETRY_MAX_MS);
    expect(MIRROR_RETRY_MAX_MS).toBeLessThanOrEqual(5 * 60_000);
    expect(mirrorRetryDelay(1)).toBeLessThan(mirrorRetryDelay(2));
  });

  it("catches up by itself once KV takes the write again, and the backoff starts over", async () => {
    const org = `org-${crypto.randomUUID()}`;
    await stub(org).revoke({ orgId: org, kind: "session", value: "s1", reason: "t" });
    const after = await runInDurableObject(stub(org), async (instance, state) => {
      await state.storage.deleteAlarm();
      // What eight failed writes left behind (the case above): KV is back now.
      state.storage.sql.exec(
        "INSERT INTO meta (key, value) VALUES (?, 8) ON CONFLICT (key) DO UPDATE SET value = 8",
        ORG_STATE_META.mirrorFailures,
      );
      await instance.alarm();
      return {
        failures: meta(state, ORG_STATE_META.mirrorFailures),
        mirrored: meta(state, ORG_STATE_META.mirrorVersion),
      };
    });
    expect(after.mirrored).toBe(1);
    expect(after.failures ?? 0).toBe(0);
    const mirror = await env.KV.get<{ version: number }>(KV_KEY.revocationMirror(org), "json");
    expect(mirror?.version).toBe(1);
  });
});
