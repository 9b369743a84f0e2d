import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  GATEWAY_CHANNEL_PATH,
  type GatewayChannelMessage,
  REVOCATION_CHANGES_PAGE,
  REVOCATION_SYNC_TAIL,
  type RevocationKind,
  type RevocationSnapshot,
} from "../../shared/contracts/revocation.ts";
import { KV_KEY, orgStateName } from "../../shared/contracts/storage-keys.ts";

const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));
const newOrg = () => `org-${crypto.randomUUID()}`;

async function revokeJtis(orgId: string, count: number, prefix = "j"): Promise<void> {
  for (let i = 0; i < count; i++) await stub(orgId).revoke({ orgId, kind: "jti", value: `${prefix}${i}`, reason: "t" });
}

describe("OrgState.sync: what a gateway reads", () => {
  it("answers a snapshot to a caller with no view, and the changes since (plus the shared tail) to one with a version", async () => {
    const org = newOrg();
    await revokeJtis(org, REVOCATION_SYNC_TAIL + 10);
    await stub(org).setPolicyVersion(2);
    const cold = await stub(org).sync(org, null);
    expect(cold).toMatchObject({ kind: "snapshot", snapshot: { orgId: org, version: REVOCATION_SYNC_TAIL + 10 } });

    const warm = await stub(org).sync(org, REVOCATION_SYNC_TAIL + 8);
    expect(warm).toMatchObject({
      kind: "delta",
      orgId: org,
      from: 10,
      through: REVOCATION_SYNC_TAIL + 10,
      more: false,
      policyVersion: 2,
    });
    if (warm.kind !== "delta") throw new Error("expected a delta");
    expect(warm.events.map((e) => e.seq)).toEqual(Array.from({ length: REVOCATION_SYNC_TAIL }, (_, i) => i + 11));

    // Far behind: pages the caller follows with `through`.
    const behind = await stub(org).sync(org, 0);
    expect(behind).toMatchObject({ kind: "delta", from: 0, more: false });
    // Ahead of the object (it was reset, or the caller is confused): the snapshot.
    expect((await stub(org).sync(org, 10_000)).kind).toBe("snapshot");
  });

  it("pages a long way behind in REVOCATION_CHANGES_PAGE steps without gaps", async () => {
    const org = newOrg();
    await revokeJtis(org, REVOCATION_CHANGES_PAGE + 5);
    const first = await stub(org).sync(org, 0);
    expect(first).toMatchObject({ kind: "delta", more: true, through: REVOCATION_CHANGES_PAGE });
    const second = await stub(org).sync(org, REVOCATION_CHANGES_PAGE);
    expect(second).toMatchObject({ kind: "delta", more: false, through: REVOCATION_CHANGES_PAGE + 5 });
  });

  it("answers a snapshot once the events after the caller's position were pruned", async () => {
    const org = newOrg();
    const now = Math.floor(Date.now() / 1000);
    await stub(org).revoke({ orgId: org, kind: "jti", value: "dead", reason: "t" }, now - 3600);
    await stub(org).revoke({ orgId: org, kind: "jti", value: "live", reason: "t" }, now + 600);
    await runDurableObjectAlarm(stub(org));
    await expect.poll(async () => (await stub(org).sync(org, 0)).kind).toBe("snapshot");
    const answer = await stub(org).sync(org, 0);
    if (answer.kind !== "snapshot") throw new Error("expected a snapshot");
    expect(answer.snapshot.entries.map((e) => e.value)).toEqual(["live"]);
  });

  it("loses nothing a gateway syncs when the object is evicted and restarted between two reads", async () => {
    const org = newOrg();
    await revokeJtis(org, 3, "before-");
    const first = await stub(org).sync(org, 0);
    await runInDurableObject(stub(org), (_instance, state) => state.abort?.("evicted by the test")).catch(
      () => undefined,
    );
    await revokeJtis(org, 2, "after-");
    const second = await stub(org).sync(org, first.kind === "delta" ? first.through : 0);
    expect(second.kind).toBe("delta");
    if (second.kind !== "delta") throw new Error("expected a delta");
    expect(second.events.filter((e) => e.seq > 3).map((e) => e.value)).toEqual(["after-0", "after-1"]);
  });

  it("records the grant kind and refuses a kind it does not know", async () => {
    const org = newOrg();
    expect(await stub(org).revoke({ orgId: org, kind: "grant", value: "dg_1", reason: "grant revoked" })).toBe(1);
    const error = await stub(org)
      .revoke({ orgId: org, kind: "user" as RevocationKind, value: "u", reason: "t" })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(String(error)).toMatch(/unknown revocation kind/);
  });
});

describe("OrgState: the KV mirror and the alarm", () => {
  it("mirrors the org's snapshot to KV from its alarm, and a repeated alarm changes nothing", async () => {
    const org = newOrg();
    const now = Math.floor(Date.now() / 1000);
    await stub(org).revoke({ orgId: org, kind: "jti", value: "j1", reason: "t" }, now + 600);
    await stub(org).revoke({ orgId: org, kind: "subject", value: "u1", reason: "t" });
    await runDurableObjectAlarm(stub(org));
    const mirror = () => env.KV.get<RevocationSnapshot>(KV_KEY.revocationMirror(org), "json");
    await expect.poll(async () => (await mirror())?.version).toBe(2);
    expect((await mirror())?.entries.map((e) => e.value).sort()).toEqual(["j1", "u1"]);

    // Idempotent: running it again (as the runtime may, after a failure) deletes nothing live.
    await runInDurableObject(stub(org), (instance) => instance.alarm());
    await runInDurableObject(stub(org), (instance) => instance.alarm());
    expect((await stub(org).snapshot(org)).entries).toHaveLength(2);
    expect((await mirror())?.version).toBe(2);
    const mirrored = await runInDurableObject(stub(org), (_instance, state) =>
      state.storage.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'mirror_version'").one(),
    );
    expect(mirrored.value).toBe(2);
  });

  it("spaces mirror writes by the size of the last one: a change soon after waits for its turn, then is written", async () => {
    const org = newOrg();
    const mirror = () => env.KV.get<RevocationSnapshot>(KV_KEY.revocationMirror(org), "json");
    await stub(org).revoke({ orgId: org, kind: "jti", value: "j1", reason: "t" });
    await runInDurableObject(stub(org), (instance) => instance.alarm());
    expect((await mirror())?.version).toBe(1);
    const notBefore = await runInDurableObject(stub(org), (_instance, state) =>
      state.storage.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'mirror_not_before'").one(),
    );
    expect(notBefore.value).toBeGreaterThan(Date.now());

    await stub(org).revoke({ orgId: org, kind: "jti", value: "j2", reason: "t" });
    await runInDurableObject(stub(org), (instance) => instance.alarm());
    expect((await mirror())?.version).toBe(1);
    const alarm = await runInDurableObject(stub(org), (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBe(notBefore.value);

    // Its turn comes (moved into the past here rather than waited for): the alarm writes it.
    await runInDurableObject(stub(org), (_instance, state) =>
      state.storage.sql.exec("UPDATE meta SET value = 0 WHERE key = 'mirror_not_before'"),
    );
    await runInDurableObject(stub(org), (instance) => instance.alarm());
    expect((await mirror())?.version).toBe(2);
    expect((await mirror())?.entries.map((e) => e.value).sort()).toEqual(["j1", "j2"]);
  });

  it("keeps an alarm scheduled while entries remain, so storage stays bounded", async () => {
    const org = newOrg();
    await stub(org).revoke({ orgId: org, kind: "session", value: "s1", reason: "t" });
    const alarm = await runInDurableObject(stub(org), (_instance, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    await runInDurableObject(stub(org), (instance) => instance.alarm());
    const next = await runInDurableObject(stub(org), (_instance, state) => state.storage.getAlarm());
    // After the mirror is written, the next alarm is the entry's expiry.
    const entry = (await stub(org).snapshot(org)).entries[0];
    expect(next).toBe((entry?.expiresAt ?? 0) * 1000);
  });
});

describe("OrgState: a gateway's push channel", () => {
  async function channel(org: string, after: number) {
    const response = await stub(org).fetch(`https://org-state${GATEWAY_CHANNEL_PATH}?after=${after}`, {
      headers: { Upgrade: "websocket" },
    });
    expect(response.status).toBe(101);
    const socket = response.webSocket;
    if (!socket) throw new Error("no WebSocket");
    const messages: (GatewayChannelMessage | "pong")[] = [];
    socket.addEventListener("message", (event) =>
      messages.push(event.data === "pong" ? "pong" : JSON.parse(String(event.data))),
    );
    socket.accept();
    return { socket, messages };
  }

  it("sends the backlog after the gateway's version, then its state, then live revocations and policy switches", async () => {
    const org = newOrg();
    await revokeJtis(org, 3);
    const { socket, messages } = await channel(org, 1);
    await expect.poll(() => messages.length).toBe(3);
    expect(messages).toEqual([
      expect.objectContaining({ type: "revocation", seq: 2 }),
      expect.objectContaining({ type: "revocation", seq: 3 }),
      { type: "state", version: 3, policyVersion: null },
    ]);
    await stub(org).revoke({ orgId: org, kind: "grant", value: "dg_1", reason: "t" });
    await stub(org).setPolicyVersion(4);
    socket.send("ping");
    await expect
      .poll(() => messages.slice(3))
      .toEqual([
        expect.objectContaining({ type: "revocation", seq: 4, kind: "grant", value: "dg_1" }),
        { type: "policy", policyVersion: 4 },
        "pong",
      ]);
    socket.close(1000, "done");
  });

  it("tells a gateway too far behind for the socket to read the object instead", async () => {
    const org = newOrg();
    await revokeJtis(org, REVOCATION_CHANGES_PAGE + 2);
    const { socket, messages } = await channel(org, 0);
    await expect.poll(() => messages).toEqual([{ type: "resync", version: REVOCATION_CHANGES_PAGE + 2 }]);
    socket.close(1000, "done");
  });

  it("loses nothing across an eviction: the gateway's socket ends, and a new channel from its version gets every event since", async () => {
    const org = newOrg();
    await revokeJtis(org, 2, "before-");
    const { socket, messages } = await channel(org, 0);
    let closed = false;
    socket.addEventListener("close", () => {
      closed = true;
    });
    await expect.poll(() => messages.at(-1)).toEqual({ type: "state", version: 2, policyVersion: null });
    await runInDurableObject(stub(org), (_instance, state) => state.abort?.("evicted by the test")).catch(
      () => undefined,
    );
    await revokeJtis(org, 2, "after-");
    // The view stops being confirmed once its socket is gone (the gateway then pulls or reconnects).
    await expect.poll(() => closed).toBe(true);
    const again = await channel(org, 2);
    await expect
      .poll(() => again.messages)
      .toEqual([
        expect.objectContaining({ type: "revocation", seq: 3, value: "after-0" }),
        expect.objectContaining({ type: "revocation", seq: 4, value: "after-1" }),
        { type: "state", version: 4, policyVersion: null },
      ]);
    again.socket.close(1000, "done");
  });
});
