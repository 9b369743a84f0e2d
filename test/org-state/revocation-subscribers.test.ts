import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { REVOCATION_CHANGES_PAGE, type RevocationStreamMessage } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";

function stub(orgId: string) {
  return env.ORG_STATE.getByName(orgStateName(orgId));
}

function newOrg() {
  return `org-${crypto.randomUUID()}`;
}

interface Subscriber {
  messages: RevocationStreamMessage[];
  socket: WebSocket;
}

async function subscribe(orgId: string, after?: number): Promise<Subscriber> {
  const query = after === undefined ? "" : `?after=${after}`;
  const response = await stub(orgId).fetch(`https://org-state/stream${query}`, { headers: { Upgrade: "websocket" } });
  expect(response.status).toBe(101);
  const socket = response.webSocket;
  if (!socket) throw new Error("no WebSocket in the upgrade response");
  const messages: RevocationStreamMessage[] = [];
  socket.addEventListener("message", (event) => messages.push(JSON.parse(String(event.data))));
  socket.accept();
  return { messages, socket };
}

function seqs(subscriber: Subscriber): number[] {
  return subscriber.messages.flatMap((m) => (m.type === "revocation" ? [m.seq] : []));
}

async function revokeJtis(orgId: string, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) {
    await stub(orgId).revoke({ orgId, kind: "jti", value: `j${i}`, reason: "test" });
  }
}

describe("OrgState: live revocation subscribers (WebSocket, hibernation API)", () => {
  it("sends the backlog after ?after, then every live event once, in order, to every subscriber", async () => {
    const org = newOrg();
    await revokeJtis(org, 1, 3);
    const fromOne = await subscribe(org, 1);
    const live = await subscribe(org);
    await revokeJtis(org, 4, 6);
    await expect.poll(() => seqs(fromOne)).toEqual([2, 3, 4, 5, 6]);
    await expect.poll(() => seqs(live)).toEqual([4, 5, 6]);
    expect(fromOne.messages[0]).toMatchObject({ type: "revocation", seq: 2, kind: "jti", value: "j2", reason: "test" });
    // The sockets are hibernatable: accepted through ctx.acceptWebSocket with the subscriber tag.
    const tagged = await runInDurableObject(stub(org), (_instance, state) => state.getWebSockets().length);
    expect(tagged).toBe(2);
    fromOne.socket.close(1000, "done");
    live.socket.close(1000, "done");
  });

  it("lets a subscriber that reconnects with its last seq resume without gaps or duplicates", async () => {
    const org = newOrg();
    const first = await subscribe(org, 0);
    await revokeJtis(org, 1, 3);
    await expect.poll(() => seqs(first)).toEqual([1, 2, 3]);
    first.socket.close(1000, "network blip");
    // Revocations recorded while it was away, and an eviction of the object.
    await revokeJtis(org, 4, 5);
    await runInDurableObject(stub(org), (_instance, state) => state.abort?.("evicted")).catch(() => undefined);
    const second = await subscribe(org, seqs(first).at(-1));
    await revokeJtis(org, 6, 7);
    await expect.poll(() => seqs(second)).toEqual([4, 5, 6, 7]);
    expect([...seqs(first), ...seqs(second)]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    second.socket.close(1000, "done");
  });

  it("tells a subscriber whose position was pruned to resync, then streams from the current version", async () => {
    const org = newOrg();
    const now = Math.floor(Date.now() / 1000);
    await stub(org).revoke({ orgId: org, kind: "jti", value: "dead", reason: "test" }, now - 3600);
    await stub(org).revoke({ orgId: org, kind: "jti", value: "live", reason: "test" }, now + 600);
    await runInDurableObject(stub(org), async (instance) => instance.alarm());
    const subscriber = await subscribe(org, 0);
    await revokeJtis(org, 3, 3);
    await expect.poll(() => subscriber.messages.length).toBe(2);
    expect(subscriber.messages[0]).toEqual({ type: "resync", version: 2 });
    expect(subscriber.messages[1]).toMatchObject({ type: "revocation", seq: 3 });
    subscriber.socket.close(1000, "done");
  });

  it("sends at most one page of backlog: further behind, resync at the current version, then live events", async () => {
    const org = newOrg();
    // Recorded inside the object: 501 RPC round trips would only slow the test.
    await runInDurableObject(stub(org), async (instance) => {
      for (let i = 1; i <= REVOCATION_CHANGES_PAGE; i++) {
        await instance.revoke({ orgId: org, kind: "jti", value: `j${i}`, reason: "test" });
      }
    });
    // Exactly one page behind: the whole backlog.
    const onePage = await subscribe(org, 0);
    await expect.poll(() => onePage.messages.length).toBe(REVOCATION_CHANGES_PAGE);
    expect(seqs(onePage).at(-1)).toBe(REVOCATION_CHANGES_PAGE);
    onePage.socket.close(1000, "done");

    await revokeJtis(org, REVOCATION_CHANGES_PAGE + 1, REVOCATION_CHANGES_PAGE + 1);
    const farBehind = await subscribe(org, 0);
    await revokeJtis(org, REVOCATION_CHANGES_PAGE + 2, REVOCATION_CHANGES_PAGE + 2);
    await expect.poll(() => farBehind.messages.length).toBe(2);
    expect(farBehind.messages[0]).toEqual({ type: "resync", version: REVOCATION_CHANGES_PAGE + 1 });
    expect(farBehind.messages[1]).toMatchObject({ type: "revocation", seq: REVOCATION_CHANGES_PAGE + 2 });
    farBehind.socket.close(1000, "done");
  });

  it("answers a ping frame with pong (the runtime's auto-response: no wake-up)", async () => {
    const org = newOrg();
    const response = await stub(org).fetch("https://org-state/stream", { headers: { Upgrade: "websocket" } });
    const socket = response.webSocket;
    if (!socket) throw new Error("no WebSocket");
    const frames: string[] = [];
    socket.addEventListener("message", (event) => frames.push(String(event.data)));
    socket.accept();
    socket.send("ping");
    await expect.poll(() => frames).toEqual(["pong"]);
    socket.close(1000, "done");
  });
});

describe("OrgState: live revocation subscribers (Server-Sent Events)", () => {
  it("streams the backlog and live events as SSE with the seq as the event id", async () => {
    const org = newOrg();
    await revokeJtis(org, 1, 2);
    const response = await stub(org).fetch("https://org-state/stream?after=1", {
      headers: { Accept: "text/event-stream" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
    if (!reader) throw new Error("no body");
    let text = "";
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        text += value;
      }
    };
    await readUntil('"seq":2');
    await revokeJtis(org, 3, 3);
    await readUntil('"seq":3');
    await reader.cancel();
    const events = text.split("\n\n").filter((block) => block.length > 0);
    expect(events.map((block) => block.split("\n")[0])).toEqual(["id: 2", "id: 3"]);
    expect(events[0]).toContain("event: revocation\ndata: ");
  });

  it("resumes from Last-Event-ID, and refuses a malformed position or a request that is neither WebSocket nor SSE", async () => {
    const org = newOrg();
    await revokeJtis(org, 1, 2);
    const resumed = await stub(org).fetch("https://org-state/stream", {
      headers: { Accept: "text/event-stream", "Last-Event-ID": "1" },
    });
    const reader = resumed.body?.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader?.read();
    expect(first?.value).toContain("id: 2\n");
    await reader?.cancel();

    const malformed = await stub(org).fetch("https://org-state/stream?after=-1", {
      headers: { Accept: "text/event-stream" },
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: "invalid_body" });
    const plain = await stub(org).fetch("https://org-state/stream");
    expect(plain.status).toBe(400);
    expect(await plain.json()).toMatchObject({ error: "invalid_body" });
  });
});
