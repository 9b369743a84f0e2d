import type { RevocationSnapshot } from "../../../shared/contracts/revocation.ts";
import { KV_KEY, ORG_STATE_META } from "../../../shared/contracts/storage-keys.ts";

/**
 * How long after a change the org's snapshot is copied to KV. KV accepts
 * about one write per second per key, and a cold gateway isolate only needs
 * a recent starting point (it syncs the rest from the object), so bursts of
 * revocations share one write.
 */
export const MIRROR_DELAY_MS = 5_000;

/**
 * Extra spacing between two mirror writes per entry of the last one. The
 * snapshot is rebuilt whole, so at a fixed 5 s a large org streaming
 * revocations spent most of its object's CPU mirroring (a profile of the
 * revocation bench: 28% at ~15,000 entries, 59% at ~55,000) and revokes
 * queued behind it. Spaced by size, mirroring stays a small share at any
 * size (100,000 entries: one write a minute). A cold isolate loses nothing
 * it needs: it syncs what the mirror lacks from the object, and a gap too
 * large for pages comes back as a fresh snapshot (OrgState.sync).
 */
export const MIRROR_MS_PER_ENTRY = 0.5;

/**
 * The longest wait between two attempts at a mirror write that keeps
 * failing (mirrorRetryDelay). Each failure doubles the wait from
 * MIRROR_DELAY_MS up to this: a KV outage costs the object one failed put
 * every five minutes at most, and the mirror is at most this much later
 * than KV's recovery.
 */
export const MIRROR_RETRY_MAX_MS = 5 * 60_000;

/** How long after its `failures`-th failure in a row (1, 2, …) the mirror write is tried again. */
export function mirrorRetryDelay(failures: number): number {
  const doublings = Math.min(Math.max(failures, 1) - 1, 16);
  return Math.min(MIRROR_DELAY_MS * 2 ** doublings, MIRROR_RETRY_MAX_MS);
}

/** When the next mirror write may run, after one of `entries` entries written at `now` (ms). */
export function nextMirrorAt(now: number, entries: number): number {
  return now + MIRROR_DELAY_MS + Math.ceil(entries * MIRROR_MS_PER_ENTRY);
}

/**
 * The KV mirror of the org's revocations (KV_KEY.revocationMirror): a cold
 * gateway isolate starts from it and asks the object only for what changed
 * since (workers/gateway/src/trust/revocation-sync.ts), so a large org's
 * whole list is not read from the object once per cold isolate. It is never
 * the freshness guarantee: KV may lag by a minute, the sync after it does
 * not.
 *
 * `meta.mirror_version` is the version last written, so the alarm writes only
 * when something changed, and writing again after a failure is harmless.
 * A failed write is not thrown out of the alarm (org-alarm.ts): the runtime
 * retries a throwing alarm only a few times and then drops it, which left the
 * mirror behind (and expired entries unpruned) until the org's next
 * recording. It is counted instead (`meta.mirror_failures`), and the next
 * attempt is due after mirrorRetryDelay, for as long as it takes.
 */
export class RevocationMirror {
  constructor(
    private readonly sql: SqlStorage,
    private readonly kv: KVNamespace,
  ) {}

  /** Whether the mirror is behind `version`. */
  isBehind(version: number): boolean {
    const mirrored = this.sql
      .exec<{ value: number }>("SELECT value FROM meta WHERE key = ?", ORG_STATE_META.mirrorVersion)
      .toArray()[0];
    return (mirrored?.value ?? 0) < version;
  }

  /** The earliest time (ms) the next write may run; 0 before the first. */
  notBefore(): number {
    return (
      this.sql
        .exec<{ value: number }>("SELECT value FROM meta WHERE key = ?", ORG_STATE_META.mirrorNotBefore)
        .toArray()[0]?.value ?? 0
    );
  }

  /**
   * Writes the snapshot and remembers its version and when the next write
   * may run (nextMirrorAt). If KV refused it, the failure is counted and the
   * next attempt put off by mirrorRetryDelay; `false` then, nothing thrown.
   */
  async write(snapshot: RevocationSnapshot): Promise<boolean> {
    try {
      await this.kv.put(KV_KEY.revocationMirror(snapshot.orgId), JSON.stringify(snapshot));
    } catch (error) {
      const failures = (this.meta(ORG_STATE_META.mirrorFailures) ?? 0) + 1;
      this.setMeta(ORG_STATE_META.mirrorFailures, failures);
      this.setMeta(ORG_STATE_META.mirrorNotBefore, Date.now() + mirrorRetryDelay(failures));
      // The org id is ours and no secret; KV's message names the key and the limit it broke.
      console.error("revocation mirror write failed", snapshot.orgId.slice(0, 64), failures, String(error));
      return false;
    }
    this.setMeta(ORG_STATE_META.mirrorFailures, 0);
    this.sql.exec(
      `INSERT INTO meta (key, value) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
      ORG_STATE_META.mirrorVersion,
      snapshot.version,
    );
    this.sql.exec(
      `INSERT INTO meta (key, value) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      ORG_STATE_META.mirrorNotBefore,
      nextMirrorAt(Date.now(), snapshot.entries.length),
    );
    return true;
  }

  private meta(key: string): number | undefined {
    return this.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
  }

  private setMeta(key: string, value: number): void {
    this.sql.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }
}
