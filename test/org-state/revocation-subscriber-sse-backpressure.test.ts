import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { OrgState } from "../../workers/org-state/src/org-state.ts";
import { MAX_SSE_UNREAD_EVENTS } from "../../workers/org-state/src/revocation-subscribers.ts";

function stub(orgId: string) {
  return env.ORG_STATE.getByName(orgStateName(orgId));
}

/** The SSE subscribers the org's object holds (a private field, read here only to see what it keeps in memory). */
function heldSseSubscribers(orgId: string): Promise<number> {
  return runInDurableObject(
    stub(orgId),
    (instance: OrgState) =>
      (instance as unknown as { subscribers: { sseWriters: Map<unknown, unknown> } }).subscribers.sseWriters.size,
  );
}

describe("OrgState: an SSE subscriber that does not read", () => {
  it("is dropped once it leaves more than MAX_SSE_UNREAD_EVENTS unread, its queue with it; a reader is kept", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const open = () =>
      stub(orgId).fetch("https://org-state/revocations/stream?after=0", { headers: { Accept: "text/event-stream" } });
    const idle = await open();
    expect(idle.status).toBe(200);
    const reading = await open();
    expect(reading.status).toBe(200);
    const reader = reading.body?.getReader();
    let received = 0;
    const readAll = (async () => {
      const decoder = new TextDecoder();
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) return;
        received += decoder.decode(chunk.value).split("event: revocation").length - 1;
      }
    })();
    const total = MAX_SSE_UNREAD_EVENTS + 50;
    for (let i = 1; i <= total; i++) {
      await stub(orgId).revoke({ orgId, kind: "jti", value: `j${i}`, reason: "test" });
      if (i === MAX_SSE_UNREAD_EVENTS) expect(await heldSseSubscribers(orgId)).toBe(2);
    }
    expect(await heldSseSubscribers(orgId)).toBe(1);
    await expect.poll(() => received).toBe(total);
    // The idle one's stream ends in an error: it reconnects with Last-Event-ID.
    await expect(idle.text()).rejects.toThrow();
    await reader?.cancel();
    await readAll.catch(() => {});
  });
});
