import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GATEWAY_CHANNEL_PATH, SUBSCRIBER_CREDENTIAL_HEADER } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { MAX_REVOCATION_SUBSCRIBERS } from "../../workers/org-state/src/revocation-subscribers.ts";

function stub(orgId: string) {
  return env.ORG_STATE.getByName(orgStateName(orgId));
}

function newOrg() {
  return `org-${crypto.randomUUID()}`;
}

/** A client's subscription, as the token Worker opens it for a client holding `revocations:read`. */
function clientCredential(orgId: string): Record<string, string> {
  const claims = { jti: crypto.randomUUID(), sub: "svc", client_id: "svc", org_id: orgId, iat: 1 };
  return { [SUBSCRIBER_CREDENTIAL_HEADER]: JSON.stringify({ until: Math.floor(Date.now() / 1000) + 600, claims }) };
}

/** A client's WebSocket subscription; `internal`: the object's own Workers' (the SSF transmitter's), no credential. */
function connectSocket(orgId: string, path = "/revocations/stream", internal = false): Promise<Response> {
  const credential = internal || path === GATEWAY_CHANNEL_PATH ? {} : clientCredential(orgId);
  return stub(orgId).fetch(`https://org-state${path}`, { headers: { Upgrade: "websocket", ...credential } });
}

function connectSse(orgId: string, internal = false): Promise<Response> {
  const credential = internal ? {} : clientCredential(orgId);
  return stub(orgId).fetch("https://org-state/revocations/stream", {
    headers: { Accept: "text/event-stream", ...credential },
  });
}

async function openSockets(orgId: string, count: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i++) {
    const response = await connectSocket(orgId);
    expect(response.status).toBe(101);
    const socket = response.webSocket;
    if (!socket) throw new Error("no WebSocket in the upgrade response");
    socket.accept();
    sockets.push(socket);
  }
  return sockets;
}

async function expectRefused(response: Response): Promise<void> {
  expect(response.status).toBe(429);
  expect(response.headers.get("retry-after")).toBe("60");
  expect(await response.json()).toMatchObject({ error: "rate_limited" });
}

describe("OrgState: live revocation subscribers per org are bounded", () => {
  it("past the cap a client's WebSocket or SSE subscriber is 429 rate_limited; gateway channels, the object's own feeds and other orgs are not counted", async () => {
    const orgId = newOrg();
    const sockets = await openSockets(orgId, MAX_REVOCATION_SUBSCRIBERS);
    await expectRefused(await connectSocket(orgId));
    await expectRefused(await connectSse(orgId));
    // The gateways' push channels are the object's own readers: never refused for the subscribers' count.
    const gateway = await connectSocket(orgId, GATEWAY_CHANNEL_PATH);
    expect(gateway.status).toBe(101);
    gateway.webSocket?.accept();
    expect((await connectSocket(newOrg())).status).toBe(101);
    // Nor the object's own Workers' feeds (the SSF transmitter's): clients holding every slot would otherwise
    // push the transmitter onto polling.
    const transmitter = await connectSocket(orgId, "/revocations/stream", true);
    expect(transmitter.status).toBe(101);
    transmitter.webSocket?.accept();
    const internalSse = await connectSse(orgId, true);
    expect(internalSse.status).toBe(200);
    await expectRefused(await connectSocket(orgId));
    // The subscribers it holds still get every event.
    const received = new Promise<string>((resolve) =>
      sockets[0]?.addEventListener("message", (event) => resolve(String(event.data))),
    );
    await stub(orgId).revoke({ orgId, kind: "jti", value: "j-cap", reason: "test" });
    expect(JSON.parse(await received)).toMatchObject({ type: "revocation", value: "j-cap" });
    for (const socket of sockets) socket.close(1000, "done");
    gateway.webSocket?.close(1000, "done");
    transmitter.webSocket?.close(1000, "done");
    await internalSse.body?.cancel();
  });

  it("a slot is freed when a subscriber goes: a WebSocket closed, or an SSE reader that cancelled its stream", async () => {
    const orgId = newOrg();
    const sockets = await openSockets(orgId, MAX_REVOCATION_SUBSCRIBERS - 1);
    const sse = await connectSse(orgId);
    expect(sse.status).toBe(200);
    await expectRefused(await connectSse(orgId));

    await sse.body?.cancel();
    await expect.poll(async () => (await connectSse(orgId)).status).toBe(200);
    await expectRefused(await connectSocket(orgId));

    sockets[0]?.close(1000, "done");
    await expect.poll(async () => (await connectSocket(orgId)).status).toBe(101);
    for (const socket of sockets.slice(1)) socket.close(1000, "done");
  });
});
