import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { OrgStateNamespace } from "../../shared/contracts/org-state.ts";
import { REVOCATION_SYNC_TAIL, type RevocationSync } from "../../shared/contracts/revocation.ts";
import { CACHE_KEY, KV_KEY, orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { AccessTokenClaims } from "../../shared/contracts/tokens.ts";
import { RevocationView } from "../../workers/gateway/src/trust/revocation-view.ts";
import { viewToken } from "./revocation-view-fixtures.ts";

const token = (orgId: string, overrides: Partial<AccessTokenClaims> = {}) => viewToken(orgId, overrides);

const newOrg = () => `org-${crypto.randomUUID()}`;

/**
 * The views' clock stands still until advanced: "within the window" holds
 * however slowly a loaded machine runs the steps between, and "past the
 * window" costs no real wait. Only Date is faked; timers and I/O run as usual.
 */
function pauseClock(): void {
  vi.useFakeTimers({ toFake: ["Date"] });
}
function advanceClock(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}
afterEach(() => {
  vi.useRealTimers();
});
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));

function revokeJti(orgId: string, t: AccessTokenClaims) {
  return stub(orgId).revoke({ orgId, kind: "jti", value: t.jti, reason: "test" }, t.exp);
}

/**
 * The real org-state namespace, recording every sync a view makes (what it
 * asked for and what the object answered). Nothing is replaced: each call
 * goes to the real object.
 */
function recordingSource() {
  const syncs: { after: number | null; answer: RevocationSync }[] = [];
  const namespace = {
    getByName(name: string) {
      const real = env.ORG_STATE.getByName(name);
      return {
        async sync(orgId: string, after: number | null) {
          const answer = await real.sync(orgId, after);
          syncs.push({ after, answer });
          return answer;
        },
        fetch: (input: RequestInfo | URL, init?: RequestInit) => real.fetch(input, init),
      };
    },
  } as unknown as OrgStateNamespace;
  return { source: { ORG_STATE: namespace, KV: env.KV }, syncs };
}

async function writeMirror(orgId: string): Promise<void> {
  await env.KV.put(KV_KEY.revocationMirror(orgId), JSON.stringify(await stub(orgId).snapshot(orgId)));
}

/** Collects what a view hands to waitUntil, as a request's context would keep it alive. */
function requestContext() {
  const held: Promise<unknown>[] = [];
  return { waitUntil: (promise: Promise<unknown>) => void held.push(promise.catch(() => undefined)), held };
}

describe("RevocationView: pulling", () => {
  it("shares one read of the org's object per location window between warm isolates", async () => {
    const orgId = newOrg();
    const t = token(orgId);
    const { source, syncs } = recordingSource();
    const first = new RevocationView(source, { maxStalenessMs: 1000, maxOrgs: 100 });
    const second = new RevocationView(source, { maxStalenessMs: 1000, maxOrgs: 100 });
    pauseClock();
    expect(await first.isRevoked(t)).toBe(false);
    expect(await second.isRevoked(t)).toBe(false);

    await revokeJti(orgId, t);
    // Within the window neither reads again: a view younger than the bound is current.
    expect(await first.isRevoked(t)).toBe(false);

    advanceClock(1100);
    const before = syncs.length;
    // The first to find its view stale reads the object and shares the answer in the
    // location's cache; the second applies that copy without reading the object.
    expect(await first.isRevoked(t)).toBe(true);
    expect(await second.isRevoked(t)).toBe(true);
    expect(syncs.length - before).toBe(1);
  });

  it("asks the object only for the changes since its version, never the whole list again", async () => {
    const orgId = newOrg();
    const total = REVOCATION_SYNC_TAIL + 20;
    for (let i = 0; i < total; i++) await stub(orgId).revoke({ orgId, kind: "jti", value: `j${i}`, reason: "test" });
    const { source, syncs } = recordingSource();
    const view = new RevocationView(source, { maxStalenessMs: 0, maxOrgs: 10 });
    expect(await view.isRevoked(token(orgId, { jti: "j1" }))).toBe(true);
    // Cold, with no KV mirror yet: the one snapshot.
    expect(syncs.at(-1)?.answer.kind).toBe("snapshot");

    const late = token(orgId);
    await revokeJti(orgId, late);
    expect(await view.isRevoked(late)).toBe(true);
    const answer = syncs.at(-1)?.answer;
    expect(syncs.at(-1)?.after).toBe(total);
    expect(answer?.kind).toBe("delta");
    if (answer?.kind !== "delta") throw new Error("expected a delta");
    // The new event plus the shared tail, not the org's whole list.
    expect(answer.events.length).toBe(REVOCATION_SYNC_TAIL);
    expect(answer.through).toBe(total + 1);
  });

  it("starts a cold isolate from the org's KV mirror and syncs only what changed after it", async () => {
    const orgId = newOrg();
    const early = token(orgId);
    await revokeJti(orgId, early);
    // The mirror as the object's alarm writes it a few seconds after a change (test/org-state).
    await writeMirror(orgId);
    const late = token(orgId);
    await revokeJti(orgId, late);

    const { source, syncs } = recordingSource();
    const view = new RevocationView(source, { maxStalenessMs: 0, maxOrgs: 10 });
    expect(await view.isRevoked(early)).toBe(true);
    expect(await view.isRevoked(late)).toBe(true);
    expect(syncs[0]?.after).toBe(1);
    expect(syncs[0]?.answer.kind).toBe("delta");
  });

  it("never trusts the KV mirror as current: with the object down, a view from it alone fails closed", async () => {
    const orgId = newOrg();
    await revokeJti(orgId, token(orgId));
    await writeMirror(orgId);
    const down = {
      getByName: () => ({ sync: () => Promise.reject(new Error("Durable Object unreachable")) }),
    } as unknown as OrgStateNamespace;
    const view = new RevocationView({ ORG_STATE: down, KV: env.KV }, { maxStalenessMs: 1000, maxOrgs: 10 });
    await expect(view.isRevoked(token(orgId))).rejects.toThrow("Durable Object unreachable");
  });

  it("holds at most maxOrgs views, evicting the least recently used", async () => {
    // A long window: within it, only an evicted org is read again.
    const view = new RevocationView(env, { maxStalenessMs: 60_000, maxOrgs: 2 });
    const [a, b, c] = [newOrg(), newOrg(), newOrg()];
    const ta = token(a);
    const tb = token(b);
    expect(await view.isRevoked(ta)).toBe(false);
    expect(await view.isRevoked(tb)).toBe(false);
    // Touching a makes b the least recently used one.
    expect(await view.isRevoked(ta)).toBe(false);
    expect(await view.isRevoked(token(c))).toBe(false);
    expect(view.size).toBe(2);

    // Both are revoked now; only the org that is no longer held is read again.
    await revokeJti(a, ta);
    await revokeJti(b, tb);
    expect(await view.isRevoked(ta)).toBe(false);
    expect(await view.isRevoked(tb)).toBe(true);
    expect(view.size).toBe(2);
  });

  it("never believes a location-cache entry that claims to be from the future", async () => {
    const orgId = newOrg();
    const t = token(orgId);
    const view = new RevocationView(env, { maxStalenessMs: 1000, maxOrgs: 100 });
    pauseClock();
    expect(await view.isRevoked(t)).toBe(false);
    await revokeJti(orgId, t);
    // "Nothing changed, read a minute from now" would pass the age check for a
    // minute past the bound.
    await caches.default.put(
      CACHE_KEY.revocations(orgId),
      new Response(
        JSON.stringify({
          fetchedAt: Date.now() + 60_000,
          delta: { kind: "delta", orgId, from: 0, through: 0, events: [], more: false, policyVersion: null },
        }),
        { headers: { "Cache-Control": "max-age=60", "Content-Type": "application/json" } },
      ),
    );
    advanceClock(1100);
    expect(await view.isRevoked(t)).toBe(true);
  });

  it("reads the object when the location-cache entry is not a delta", async () => {
    const orgId = newOrg();
    const t = token(orgId);
    const view = new RevocationView(env, { maxStalenessMs: 1000, maxOrgs: 100 });
    pauseClock();
    expect(await view.isRevoked(t)).toBe(false);
    await revokeJti(orgId, t);
    await caches.default.put(
      CACHE_KEY.revocations(orgId),
      new Response(JSON.stringify({ fetchedAt: Date.now(), delta: { orgId } }), {
        headers: { "Cache-Control": "max-age=60", "Content-Type": "application/json" },
      }),
    );
    advanceClock(1100);
    expect(await view.isRevoked(t)).toBe(true);
  });
});

describe("RevocationView: push from the org's object", () => {
  it("applies a revocation as it is recorded, without pulling, and keeps the view confirmed by pings", async () => {
    const orgId = newOrg();
    const t = token(orgId);
    const { source, syncs } = recordingSource();
    const context = requestContext();
    // A bound of two seconds: without the channel's pings the view would pull again every two seconds.
    // (Shorter, a pong held up on a loaded machine would make the view pull: pings go every third of it,
    // so only a channel silent for the whole bound may; at one second, CI's two busy cores came close.)
    const view = new RevocationView(source, { maxStalenessMs: 2000, maxOrgs: 10, push: { maxAgeMs: 20_000 } });
    expect(await view.isRevoked(t, context)).toBe(false);
    expect(syncs.length).toBe(1);
    await expect.poll(() => view.openChannels).toBe(1);

    await revokeJti(orgId, t);
    await expect.poll(() => view.isRevoked(t, context)).toBe(true);
    // Well past the bound, still no second read: the pings prove the view current.
    await new Promise((r) => setTimeout(r, 4400));
    expect(await view.isRevoked(token(orgId), context)).toBe(false);
    expect(syncs.length).toBe(1);
  });

  it("hears a policy switch on the channel, so the policy version is as fresh as the revocations", async () => {
    const orgId = newOrg();
    const { source } = recordingSource();
    const context = requestContext();
    const view = new RevocationView(source, { maxStalenessMs: 60_000, maxOrgs: 10, push: { maxAgeMs: 20_000 } });
    expect(await view.isRevoked(token(orgId), context)).toBe(false);
    await expect.poll(() => view.openChannels).toBe(1);
    await stub(orgId).setPolicyVersion(3);
    await expect.poll(() => view.policyVersion(orgId)).toBe(3);
  });

  it("falls back to pulling within the bound when the channel cannot be opened", async () => {
    const orgId = newOrg();
    const t = token(orgId);
    const { source, syncs } = recordingSource();
    const noChannel = {
      getByName(name: string) {
        const recorded = source.ORG_STATE.getByName(name);
        return { sync: recorded.sync.bind(recorded), fetch: () => Promise.reject(new Error("no channel")) };
      },
    } as unknown as OrgStateNamespace;
    const context = requestContext();
    const view = new RevocationView(
      { ORG_STATE: noChannel, KV: env.KV },
      { maxStalenessMs: 300, maxOrgs: 10, push: { maxAgeMs: 20_000 } },
    );
    expect(await view.isRevoked(t, context)).toBe(false);
    await revokeJti(orgId, t);
    await expect.poll(() => view.isRevoked(t, context)).toBe(true);
    expect(syncs.length).toBeGreaterThan(1);
    expect(view.openChannels).toBe(0);
  });
});
