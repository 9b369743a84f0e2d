import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ORG_STATE_META, orgStateName } from "../../shared/contracts/storage-keys.ts";

const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));
const newOrg = () => `org-${crypto.randomUUID()}`;

describe("OrgState's alarm: a revocation recorded while it writes the KV mirror", () => {
  it("keeps the next mirror write due, rather than putting it off to the first expiry", async () => {
    const org = newOrg();
    await stub(org).revoke({ orgId: org, kind: "session", value: "s1", reason: "t" });
    const after = await runInDurableObject(stub(org), async (instance, state) => {
      // Only the run started here: the alarm the first revoke set would race it.
      await state.storage.deleteAlarm();
      // The alarm awaits KV's put of the snapshot (version 1); the input gate
      // is open for that I/O, so the revoke runs and sets its own alarm in between.
      const running = instance.alarm();
      const recorded = instance.revoke({ orgId: org, kind: "session", value: "s2", reason: "t" });
      await Promise.all([running, recorded]);
      const meta = (key: string) =>
        state.storage.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = ?", key).one().value;
      return {
        alarm: await state.storage.getAlarm(),
        version: meta(ORG_STATE_META.version),
        mirrored: meta(ORG_STATE_META.mirrorVersion),
        notBefore: meta(ORG_STATE_META.mirrorNotBefore),
      };
    });
    expect(after.version).toBe(2);
    expect(after.mirrored).toBe(1);
    // Version 2 is not in KV yet: the alarm must come back for it at its turn, not an hour later at s1's expiry.
    expect(after.alarm).not.toBeNull();
    expect(after.alarm ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(after.notBefore);
  });
});

describe("OrgState's alarm: an object that stopped between a recording's commit and its setAlarm", () => {
  it("sets the alarm again when it starts, so what it holds is still pruned and mirrored", async () => {
    const org = newOrg();
    await stub(org).revoke({ orgId: org, kind: "session", value: "s1", reason: "t" });
    // The recording is committed; the crash took the alarm it would have set.
    await runInDurableObject(stub(org), (_instance, state) => state.storage.deleteAlarm());
    expect(await runInDurableObject(stub(org), (_instance, state) => state.storage.getAlarm())).toBeNull();
    await runInDurableObject(stub(org), (_instance, state) => state.abort?.("stopped by the test")).catch(() => {});
    // The next call starts the object again.
    expect((await stub(org).snapshot(org)).version).toBe(1);
    const alarm = await runInDurableObject(stub(org), (_instance, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
  });
});
