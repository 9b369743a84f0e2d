import type { RevocationSnapshot } from "../../../shared/contracts/revocation.ts";
import type { OrgStore } from "./org-store.ts";
import type { RevocationLog } from "./revocation-log.ts";
import type { RevocationMirror } from "./revocation-mirror.ts";

/**
 * The org object's alarm (OrgState.alarm): drops what has expired and
 * brings the KV mirror up to date. Idempotent: a repeated or early run
 * deletes nothing live and writes the mirror only when it is behind; if the
 * mirror write fails the runtime retries the alarm, and the cleanup simply
 * finds nothing left to do.
 */
export async function runOrgAlarm(
  store: OrgStore,
  log: RevocationLog,
  mirror: RevocationMirror,
  snapshot: (orgId: string) => RevocationSnapshot,
): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  store.sql.exec("DELETE FROM revocation WHERE expires_at <= ?", now);
  log.prune(now);
  const recorded = store.recordedOrg();
  // Never under another org's KV key: a row from before names were checked may name one.
  const orgId = recorded !== undefined && store.isOwnOrg(recorded) ? recorded : undefined;
  const version = store.version();
  // A mirror write too soon after the last (revocation-mirror.ts, nextMirrorAt) waits for its turn.
  let mirrorDueAt: number | null = null;
  if (orgId !== undefined && mirror.isBehind(version)) {
    const notBefore = mirror.notBefore();
    if (Date.now() >= notBefore) await mirror.write(snapshot(orgId));
    else mirrorDueAt = notBefore;
  }
  // An older event may expire before its entry's row (a later revocation
  // of the same value extends the row, not the event), so both tables set the next alarm.
  const next = store.sql
    .exec<{ next: number | null }>(
      "SELECT min(e) AS next FROM (SELECT min(expires_at) AS e FROM revocation UNION ALL SELECT min(expires_at) FROM revocation_event)",
    )
    .one().next;
  const at = [next === null ? null : next * 1000, mirrorDueAt].filter((t): t is number => t !== null);
  if (at.length > 0) await store.setAlarm(Math.min(...at));
}
