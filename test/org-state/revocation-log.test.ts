import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { REVOCATION_CHANGES_PAGE } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";

function stub(orgId: string) {
  return env.ORG_STATE.getByName(orgStateName(orgId));
}

function newOrg() {
  return `org-${crypto.randomUUID()}`;
}

describe("OrgState: the revocation event log", () => {
  it("logs every revocation under the version it produced, with its reason and expiry", async () => {
    const org = newOrg();
    const s = stub(org);
    const now = Math.floor(Date.now() / 1000);
    await s.revoke({ orgId: org, kind: "jti", value: "j1", reason: "rfc7009" }, now + 60);
    await s.revoke({ orgId: org, kind: "session", value: "sess-1", reason: "sign-out" });
    await s.revoke({ orgId: org, kind: "jti", value: "j1", reason: "operator" }, now + 60);
    const changes = await s.changesSince(0);
    expect(changes).toMatchObject({ kind: "changes", version: 3, more: false });
    if (changes.kind !== "changes") throw new Error("expected changes");
    expect(changes.events.map((e) => [e.seq, e.kind, e.value, e.reason])).toEqual([
      [1, "jti", "j1", "rfc7009"],
      [2, "session", "sess-1", "sign-out"],
      [3, "jti", "j1", "operator"],
    ]);
    const entries = (await s.snapshot(org)).entries;
    expect(changes.events[1]).toMatchObject({ revoked_at: entries[1]?.revokedAt, expires_at: entries[1]?.expiresAt });
    expect(await s.changesSince(2)).toMatchObject({ kind: "changes", version: 3, events: [{ seq: 3 }] });
    expect(await s.changesSince(3)).toEqual({ kind: "changes", version: 3, events: [], more: false });
  });

  it("answers in bounded pages that a caller walks to the end without gaps", async () => {
    const org = newOrg();
    const s = stub(org);
    const total = REVOCATION_CHANGES_PAGE + 3;
    await runInDurableObject(s, async (instance) => {
      for (let i = 1; i <= total; i++)
        await instance.revoke({ orgId: org, kind: "jti", value: `j${i}`, reason: "test" });
    });
    const first = await s.changesSince(0);
    if (first.kind !== "changes") throw new Error("expected changes");
    expect(first.events).toHaveLength(REVOCATION_CHANGES_PAGE);
    expect(first.more).toBe(true);
    const second = await s.changesSince(first.events.at(-1)?.seq ?? 0);
    if (second.kind !== "changes") throw new Error("expected changes");
    expect(second.more).toBe(false);
    expect([...first.events, ...second.events].map((e) => e.seq)).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
  });

  it("prunes events with their entries in the alarm and then says 'resync' for a pruned position", async () => {
    const org = newOrg();
    const s = stub(org);
    const now = Math.floor(Date.now() / 1000);
    await s.revoke({ orgId: org, kind: "jti", value: "old", reason: "test" }, now - 3600);
    await s.revoke({ orgId: org, kind: "jti", value: "live", reason: "test" }, now + 600);
    // The first entry's alarm is due at once and the runtime may already be
    // running it: wait for the effect, whichever alarm run produces it.
    await runDurableObjectAlarm(s);
    const seqs = () =>
      runInDurableObject(s, (_instance, state) =>
        state.storage.sql
          .exec<{ seq: number }>("SELECT seq FROM revocation_event")
          .toArray()
          .map((r) => r.seq),
      );
    await expect.poll(seqs).toEqual([2]);
    expect(await s.changesSince(0)).toEqual({ kind: "resync", version: 2 });
    expect(await s.changesSince(1)).toMatchObject({ kind: "changes", events: [{ seq: 2, value: "live" }] });
  });

  it("says 'resync' for a position ahead of the object and refuses a malformed one", async () => {
    const org = newOrg();
    const s = stub(org);
    await s.revoke({ orgId: org, kind: "client", value: "mac_x", reason: "test" });
    expect(await s.changesSince(7)).toEqual({ kind: "resync", version: 1 });
    // Called on the instance: a rejected RPC promise trips vitest's unhandled-rejection check.
    await runInDurableObject(s, async (instance) => {
      await expect(instance.changesSince(-1)).rejects.toThrow(RangeError);
      await expect(instance.changesSince(1.5)).rejects.toThrow(RangeError);
    });
  });

  it("loses nothing when the object is evicted and restarted mid-stream", async () => {
    const org = newOrg();
    const s = stub(org);
    await s.revoke({ orgId: org, kind: "subject", value: "user-1", reason: "member-removed" });
    const before = await s.changesSince(0);
    if (before.kind !== "changes") throw new Error("expected changes");
    const cursor = before.events.at(-1)?.seq ?? 0;
    await s.revoke({ orgId: org, kind: "subject", value: "user-2", reason: "member-removed" });
    // abort() resets the object: the next call runs a fresh instance on the same storage.
    await runInDurableObject(s, (_instance, state) => state.abort?.("evicted by the test")).catch(() => undefined);
    await stub(org).revoke({ orgId: org, kind: "org", value: org, reason: "kill-switch" });
    const after = await stub(org).changesSince(cursor);
    expect(after).toMatchObject({ kind: "changes", version: 3 });
    if (after.kind !== "changes") throw new Error("expected changes");
    expect(after.events.map((e) => [e.seq, e.value])).toEqual([
      [2, "user-2"],
      [3, org],
    ]);
  });

  it("starts its log at the version the object had before it logged, so older positions resync", async () => {
    const org = newOrg();
    const s = stub(org);
    // An object that recorded revocations before the log existed.
    await runInDurableObject(s, (_instance, state) => {
      state.storage.sql.exec("DROP TABLE revocation_event");
      state.storage.sql.exec("DELETE FROM meta WHERE key = 'log_floor'");
      state.storage.sql.exec("INSERT INTO meta (key, value) VALUES ('version', 4)");
    });
    // abort() drops writes not yet committed, so it comes in a call of its own.
    await runInDurableObject(s, (_instance, state) => state.abort?.("restart with the log")).catch(() => undefined);
    const s2 = stub(org);
    await s2.revoke({ orgId: org, kind: "jti", value: "j5", reason: "test" });
    expect(await s2.changesSince(3)).toEqual({ kind: "resync", version: 5 });
    expect(await s2.changesSince(4)).toMatchObject({ kind: "changes", events: [{ seq: 5 }] });
  });
});
