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
   * may run (nextMirrorAt); throws (the alarm retries) if KV refused it.
   */
  async write(snapshot: RevocationSnapshot): Promise<void> {
    await this.kv.put(KV_KEY.revocationMirror(snapshot.orgId), JSON.stringify(snapshot));
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
  }
}
