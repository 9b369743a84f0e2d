import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GATEWAY_CHANNEL_PATH, SUBSCRIBER_CREDENTIAL_HEADER } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { RevocationLog } from "../../workers/org-state/src/revocation-log.ts";
import {
  GATEWAY_CHANNEL_RECOUNT_MS,
  MAX_GATEWAY_CHANNELS,
  MAX_REVOCATION_SUBSCRIBERS,
  RevocationSubscribers,
} from "../../workers/org-state/src/revocation-subscribers.ts";

const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));
const newOrg = () => `org-${crypto.randomUUID()}`;

/** The most WebSockets one Durable Object accepts in all (the runtime's limit on hibernatable sockets). */
const DURABLE_OBJECT_WEBSOCKETS = 32_768;

function gatewayConnect(): Request {
  return new Request(`https://org-state${GATEWAY_CHANNEL_PATH}?after=0`, { headers: { Upgrade: "websocket" } });
}

function clientConnect(orgId: string): Request {
  const claims = { jti: crypto.randomUUID(), sub: "svc", client_id: "svc", org_id: orgId, iat: 1 };
  return new Request("https://org-state/revocations/stream", {
    headers: {
      Upgrade: "websocket",
      [SUBSCRIBER_CREDENTIAL_HEADER]: JSON.stringify({ until: Math.floor(Date.now() / 1000) + 600, claims }),
    },
  });
}

describe("OrgState: gateway push channels per org are bounded", () => {
  it("is sized for the load model's large tenant with renewal overlap, and leaves most of the object's sockets free", () => {
    // docs/revocation.md "Load model": 300 locations × 20 isolates, each channel renewed after 20 s of its 25.
    const largeTenant = 300 * 20;
    expect(MAX_GATEWAY_CHANNELS).toBeGreaterThanOrEqual(Math.ceil((largeTenant * 25) / 20));
    expect(MAX_GATEWAY_CHANNELS + MAX_REVOCATION_SUBSCRIBERS).toBeLessThanOrEqual(DURABLE_OBJECT_WEBSOCKETS / 2);
  });

  it("past the cap a channel is refused 429 rate_limited (the gateway pulls instead); open ones still get every event, and clients' subscriptions are not counted", async () => {
    const orgId = newOrg();
    await stub(orgId).revoke({ orgId, kind: "session", value: "s0", reason: "t" });
    const outcome = await runInDurableObject(stub(orgId), async (_instance, state) => {
      // The object's own class over the object's own state, with a cap small enough to reach here:
      // MAX_GATEWAY_CHANNELS sockets would take minutes to open in a test.
      const subscribers = new RevocationSubscribers(
        state,
        new RevocationLog(state.storage.sql),
        () => ({ version: 1, policyVersion: null }),
        { gatewayChannels: 3 },
      );
      const open: WebSocket[] = [];
      const received: string[][] = [];
      for (let i = 0; i < 3; i++) {
        const response = subscribers.connect(gatewayConnect());
        expect(response.status).toBe(101);
        const socket = response.webSocket;
        if (!socket) throw new Error("no WebSocket");
        const frames: string[] = [];
        socket.addEventListener("message", (event) => frames.push(String(event.data)));
        socket.accept();
        open.push(socket);
        received.push(frames);
      }
      const refused = subscribers.connect(gatewayConnect());
      const refusal = {
        status: refused.status,
        retryAfter: refused.headers.get("retry-after"),
        body: await refused.json(),
        socket: refused.webSocket,
      };
      // A client's subscription is another budget (MAX_REVOCATION_SUBSCRIBERS): a full set of channels refuses none.
      const client = subscribers.connect(clientConnect(orgId));
      client.webSocket?.accept();
      subscribers.publish({ seq: 2, kind: "session", value: "s-cap", revoked_at: 1, expires_at: 2, reason: "t" });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const delivered = received.map((frames) => frames.some((frame) => frame.includes("s-cap")));
      // A slot frees when a channel closes; the count is taken again at most every GATEWAY_CHANNEL_RECOUNT_MS.
      open[0]?.close(1000, "done");
      await new Promise((resolve) => setTimeout(resolve, GATEWAY_CHANNEL_RECOUNT_MS + 100));
      const reopened = subscribers.connect(gatewayConnect());
      reopened.webSocket?.accept();
      for (const socket of [...open.slice(1), reopened.webSocket, client.webSocket]) socket?.close(1000, "done");
      return { refusal, clientStatus: client.status, delivered, reopenedStatus: reopened.status };
    });
    expect(outcome.refusal.status).toBe(429);
    expect(outcome.refusal.retryAfter).toBe("60");
    expect(outcome.refusal.body).toMatchObject({ error: "rate_limited" });
    expect(outcome.refusal.socket).toBeNull();
    expect(outcome.clientStatus).toBe(101);
    expect(outcome.delivered).toEqual([true, true, true]);
    expect(outcome.reopenedStatus).toBe(101);
  });
});
