import type { RevocationSnapshot } from "../../../shared/contracts/revocation.ts";
import { KV_KEY } from "../../../shared/contracts/storage-keys.ts";

/**
 * How long after a change the org's snapshot is copied to KV. KV accepts
 * about one write per second per key, and a cold gateway isolate only needs
 * a recent starting point (it syncs the rest from the object), so bursts of
 * revocations share one write.
 */
export const MIRROR_DELAY_MS = 5_000;

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
      .exec<{ value: number }>("SELECT value FROM meta WHERE key = 'mirror_version'")
      .toArray()[0];
    return (mirrored?.value ?? 0) < version;
  }

  /** Writes the snapshot and remembers its version; throws (the alarm retries) if KV refused it. */
  async write(snapshot: RevocationSnapshot): Promise<void> {
    await this.kv.put(KV_KEY.revocationMirror(snapshot.orgId), JSON.stringify(snapshot));
    this.sql.exec(
      `INSERT INTO meta (key, value) VALUES ('mirror_version', ?)
       ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
      snapshot.version,
    );
  }
}
