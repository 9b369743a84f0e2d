import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { OrgStateNamespace } from "../../shared/contracts/org-state.ts";
import { GATEWAY_CHANNEL_PATH } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { AccessTokenClaims } from "../../shared/contracts/tokens.ts";
import {
  CHANNEL_MAX_RETRY_AFTER_MS,
  CHANNEL_RETRY_MS,
  channelRetryDelayMs,
} from "../../workers/gateway/src/trust/channel-retry-delay.ts";
import { RevocationView } from "../../workers/gateway/src/trust/revocation-view.ts";
import { MAX_GATEWAY_CHANNELS } from "../../workers/org-state/src/revocation-subscribers.ts";
import { viewToken } from "./revocation-view-fixtures.ts";

const newOrg = () => `org-${crypto.randomUUID()}`;
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));

// Outlives the test's faked minute.
const token = (orgId: string) => viewToken(orgId, {}, 600);

function channelConnect(orgId: string): Promise<Response> {
  return stub(orgId).fetch(`https://org-state${GATEWAY_CHANNEL_PATH}?after=0`, { headers: { Upgrade: "websocket" } });
}

/**
 * Fills the org's object with MAX_GATEWAY_CHANNELS channels the way gateways
 * do, through its real connect path (no smaller cap: the gateway must meet
 * the object as deployed). About 12 s on an idle machine, in batches so the
 * object is not handed 10,000 requests at once.
 */
async function fillChannels(orgId: string): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  const batch = 250;
  for (let start = 0; start < MAX_GATEWAY_CHANNELS; start += batch) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(batch, MAX_GATEWAY_CHANNELS - start) }, () => channelConnect(orgId)),
    );
    for (const answer of answers) {
      if (answer.status !== 101 || !answer.webSocket)
        throw new Error(`channel ${sockets.length} answered ${answer.status}`);
      answer.webSocket.accept();
      sockets.push(answer.webSocket);
    }
  }
  return sockets;
}

/**
 * The real org-state namespace, recording each channel connect a view makes
 * (the status the object answered) and each sync. Every call goes to the
 * real object; nothing is answered here.
 */
function recordingSource() {
  const connects: number[] = [];
  const syncs: number[] = [];
  const namespace = {
    getByName(name: string) {
      const real = env.ORG_STATE.getByName(name);
      return {
        async sync(orgId: string, after: number | null) {
          syncs.push(Date.now());
          return real.sync(orgId, after);
        },
        async fetch(input: RequestInfo | URL, init?: RequestInit) {
          const answer = await real.fetch(input, init);
          connects.push(answer.status);
          return answer;
        },
      };
    },
  } as unknown as OrgStateNamespace;
  return { source: { ORG_STATE: namespace, KV: env.KV }, connects, syncs };
}

/** Collects what a view hands to waitUntil, as a request's context keeps it alive. */
function requestContext() {
  const held: Promise<unknown>[] = [];
  return {
    waitUntil: (promise: Promise<unknown>) => void held.push(promise.catch(() => undefined)),
    /** Waits for every channel handed over so far to have ended (a refused one ends at its answer). */
    settled: () => Promise.all(held),
  };
}

/** Only Date is faked: the view's clock moves when told, while timers and I/O run as usual. */
function advanceClock(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}
afterEach(() => {
  vi.useRealTimers();
});

describe("RevocationView: a channel refused by a full org object", () => {
  it("pulls within the bound and connects again only after the refusal's Retry-After", async () => {
    const orgId = newOrg();
    const open = await fillChannels(orgId);
    try {
      // The object at its cap, as b86a630 answers a newcomer.
      const refusal = await channelConnect(orgId);
      expect(refusal.status).toBe(429);
      expect(await refusal.json()).toMatchObject({ error: "rate_limited" });
      const retryAfterMs = Number(refusal.headers.get("retry-after")) * 1000;
      expect(retryAfterMs).toBe(60_000);

      const { source, connects, syncs } = recordingSource();
      const context = requestContext();
      const view = new RevocationView(source, { maxStalenessMs: 1000, maxOrgs: 10, push: { maxAgeMs: 20_000 } });
      vi.useFakeTimers({ toFake: ["Date"] });
      const t = token(orgId);
      expect(await view.isRevoked(t, context)).toBe(false);
      await context.settled();
      expect(connects).toEqual([429]);
      expect(view.openChannels).toBe(0);

      await stub(orgId).revoke({ orgId, kind: "jti", value: t.jti, reason: "test" }, t.exp);
      // Just past the bound: the view pulls and refuses the token, without a channel.
      advanceClock(1100);
      const pulled = syncs.length;
      expect(await view.isRevoked(t, context)).toBe(true);
      expect(syncs.length).toBe(pulled + 1);

      // Traffic every few seconds up to just before Retry-After: each check pulls
      // within the bound, and none connects (the old client tried once a second).
      for (let elapsed = 1100; elapsed + 5000 < retryAfterMs; elapsed += 5000) {
        advanceClock(5000);
        expect(await view.isRevoked(t, context)).toBe(true);
        expect(await view.isRevoked(token(orgId), context)).toBe(false);
      }
      await context.settled();
      expect(connects).toEqual([429]);

      // Past Retry-After the next request tries again (still full: refused again).
      advanceClock(retryAfterMs);
      expect(await view.isRevoked(t, context)).toBe(true);
      await context.settled();
      expect(connects).toEqual([429, 429]);
    } finally {
      vi.useRealTimers();
      for (const socket of open) socket.close(1000, "done");
    }
  }, 120_000);
});

describe("channelRetryDelayMs: how long a channel's successor waits (RFC 9110 §10.2.3 delay-seconds)", () => {
  const answer = (status: number, retryAfter?: string) =>
    new Response(null, { status, headers: retryAfter === undefined ? {} : { "retry-after": retryAfter } });

  it("takes a refusal's Retry-After in seconds", () => {
    expect(channelRetryDelayMs(answer(429, "60"))).toBe(60_000);
    expect(channelRetryDelayMs(answer(503, "7"))).toBe(7_000);
  });

  it("clamps it to at least the usual backoff and at most five minutes", () => {
    expect(CHANNEL_MAX_RETRY_AFTER_MS).toBe(300_000);
    expect(channelRetryDelayMs(answer(429, "0"))).toBe(CHANNEL_RETRY_MS);
    expect(channelRetryDelayMs(answer(429, "86400"))).toBe(CHANNEL_MAX_RETRY_AFTER_MS);
    expect(channelRetryDelayMs(answer(429, "99999999999999999999999"))).toBe(CHANNEL_MAX_RETRY_AFTER_MS);
  });

  it("keeps the usual backoff for a missing or unreadable value, or no refusal", () => {
    for (const value of [undefined, "", " ", "-5", "1.5", "6e1", "0x10", "60s", "Wed, 21 Oct 2026 07:28:00 GMT"]) {
      expect(channelRetryDelayMs(answer(429, value)), String(value)).toBe(CHANNEL_RETRY_MS);
    }
    // Only a refusal's header counts: an answer that is no refusal asks nothing of us.
    expect(channelRetryDelayMs(answer(200, "60"))).toBe(CHANNEL_RETRY_MS);
  });
});
