import type { OrgStateNamespace } from "../../../../shared/contracts/org-state.ts";
import type { RevocationSnapshot, RevocationSync } from "../../../../shared/contracts/revocation.ts";
import { CACHE_KEY, KV_KEY, orgStateName } from "../../../../shared/contracts/storage-keys.ts";
import { OrgRevocations } from "./revocation-index.ts";

export interface RevocationSource {
  ORG_STATE: OrgStateNamespace;
  /** The KV mirror of each org's snapshot (KV_KEY.revocationMirror), for cold isolates only. */
  KV: KVNamespace;
}

type Delta = Extract<RevocationSync, { kind: "delta" }>;

/** A delta as a location's cache holds it, with when (ms) it was read from the object. */
interface CachedDelta {
  fetchedAt: number;
  delta: Delta;
}

/** The most pages one sync follows before giving up (500 events each: a view this far behind re-reads the snapshot). */
const MAX_PAGES = 20;

/**
 * Brings an isolate's view of an org up to date by pulling (the push channel
 * is revocation-channel.ts). Never re-sends the whole list to a warm view:
 *
 * 1. A cold isolate (no view) starts from the org's KV mirror, if any —
 *    possibly a minute old, so it is never trusted as current on its own.
 * 2. The location's Cache API copy of the last delta read from the object,
 *    if it was read less than the bound ago (and not "in the future") and
 *    reaches back to the view's version: every isolate of a location shares
 *    one read of the object per window.
 * 3. Otherwise the object itself: `sync(after = the view's version)`, whose
 *    answer (the changes since, reaching REVOCATION_SYNC_TAIL further back)
 *    is written to the location's cache for the others. Only a view too far
 *    behind the object's log, or no view and no mirror, gets a snapshot.
 *
 * `confirmedAt` is set to when the answer was read from the object, wherever
 * it was served from, so no view is ever thought fresher than it is.
 */
export async function pullRevocations(
  source: RevocationSource,
  orgId: string,
  held: OrgRevocations | undefined,
  maxStalenessMs: number,
): Promise<OrgRevocations> {
  const view = held ?? (await fromMirror(source.KV, orgId));
  if (view) {
    const shared = await fromLocationCache(orgId, maxStalenessMs);
    if (shared && shared.delta.from <= view.version && view.version <= shared.delta.through) {
      if (view.apply(shared.delta.events)) {
        adopt(view, shared.delta);
        view.confirmedAt = Math.max(view.confirmedAt, shared.fetchedAt);
        return view;
      }
    }
  }
  return fromObject(source, orgId, view, maxStalenessMs);
}

async function fromObject(
  source: RevocationSource,
  orgId: string,
  start: OrgRevocations | undefined,
  maxStalenessMs: number,
): Promise<OrgRevocations> {
  // Taken before the read: what it answers is at least this fresh.
  const startedAt = Date.now();
  const stub = source.ORG_STATE.getByName(orgStateName(orgId));
  let view = start;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer: RevocationSync = await stub.sync(orgId, view?.version ?? null);
    if (answer.kind === "snapshot") {
      view = OrgRevocations.fromSnapshot(answer.snapshot);
      break;
    }
    if (!view || !view.apply(answer.events)) {
      // A gap cannot come from a well-formed answer; read the whole state rather than guess.
      view = await snapshotOf(stub, orgId);
      break;
    }
    adopt(view, answer);
    if (!answer.more) {
      if (page === 0) await toLocationCache(orgId, { fetchedAt: startedAt, delta: answer }, maxStalenessMs);
      break;
    }
    if (page === MAX_PAGES - 1) view = await snapshotOf(stub, orgId);
  }
  if (!view) throw new Error("revocation sync answered nothing");
  view.confirmedAt = Math.max(view.confirmedAt, startedAt);
  view.sweep(Date.now());
  return view;
}

/**
 * Takes a delta's version and policy version once its events are applied.
 * A push channel may have moved the view further meanwhile: neither number
 * ever goes back.
 */
function adopt(view: OrgRevocations, delta: Delta): void {
  view.version = Math.max(view.version, delta.through);
  if (view.policyChannels === 0) view.policyVersion = delta.policyVersion;
}

async function snapshotOf(stub: ReturnType<OrgStateNamespace["getByName"]>, orgId: string): Promise<OrgRevocations> {
  const answer: RevocationSync = await stub.sync(orgId, null);
  if (answer.kind !== "snapshot") throw new Error("revocation sync answered a delta to a snapshot request");
  return OrgRevocations.fromSnapshot(answer.snapshot);
}

/** The org's KV mirror as a starting point (confirmedAt stays 0: it proves nothing about now). */
async function fromMirror(kv: KVNamespace, orgId: string): Promise<OrgRevocations | undefined> {
  try {
    const mirrored: unknown = await kv.get(KV_KEY.revocationMirror(orgId), "json");
    if (!isSnapshot(mirrored) || mirrored.orgId !== orgId) return undefined;
    return OrgRevocations.fromSnapshot(mirrored);
  } catch (error) {
    // Without the mirror the object answers with its snapshot: slower, not wrong.
    console.error("revocation mirror unreadable", orgId, error);
    return undefined;
  }
}

async function fromLocationCache(orgId: string, maxStalenessMs: number): Promise<CachedDelta | undefined> {
  // The Cache API counts in whole seconds; shorter windows are served by the object.
  if (maxStalenessMs < 1000) return undefined;
  const hit = await caches.default.match(CACHE_KEY.revocations(orgId));
  if (!hit) return undefined;
  const cached: unknown = await hit.json().catch(() => undefined);
  if (!isCachedDelta(cached) || cached.delta.orgId !== orgId) return undefined;
  const age = Date.now() - cached.fetchedAt;
  // An entry claiming to be from the future (a skewed clock, or a forged
  // or corrupted entry) would pass the age check for as long as it claims,
  // stretching the bound: only the object itself is believed then.
  if (age < 0 || age >= maxStalenessMs) return undefined;
  return cached;
}

async function toLocationCache(orgId: string, entry: CachedDelta, maxStalenessMs: number): Promise<void> {
  const ttl = Math.floor(maxStalenessMs / 1000);
  if (ttl < 1) return;
  try {
    await caches.default.put(
      CACHE_KEY.revocations(orgId),
      new Response(JSON.stringify(entry), {
        headers: { "Cache-Control": `max-age=${ttl}`, "Content-Type": "application/json" },
      }),
    );
  } catch (error) {
    // A cache that cannot be written costs extra reads, not correctness.
    console.error("revocation cache write failed", error);
  }
}

function isSnapshot(value: unknown): value is RevocationSnapshot {
  if (typeof value !== "object" || value === null) return false;
  const snapshot = value as Partial<RevocationSnapshot>;
  return (
    typeof snapshot.orgId === "string" &&
    Number.isSafeInteger(snapshot.version) &&
    Array.isArray(snapshot.entries) &&
    (snapshot.policyVersion === null || typeof snapshot.policyVersion === "number")
  );
}

function isCachedDelta(value: unknown): value is CachedDelta {
  if (typeof value !== "object" || value === null) return false;
  const { fetchedAt, delta } = value as Partial<CachedDelta>;
  return (
    typeof fetchedAt === "number" &&
    Number.isFinite(fetchedAt) &&
    typeof delta === "object" &&
    delta !== null &&
    delta.kind === "delta" &&
    typeof delta.orgId === "string" &&
    Number.isSafeInteger(delta.from) &&
    Number.isSafeInteger(delta.through) &&
    delta.from <= delta.through &&
    Array.isArray(delta.events) &&
    delta.more === false &&
    (delta.policyVersion === null || typeof delta.policyVersion === "number")
  );
}
