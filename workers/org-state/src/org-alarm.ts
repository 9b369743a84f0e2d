import type { RevocationSnapshot } from "../../../shared/contracts/revocation.ts";
import type { OrgStore } from "./org-store.ts";
import type { RevocationLog } from "./revocation-log.ts";
import type { RevocationMirror } from "./revocation-mirror.ts";

/**
 * The org object's alarm (OrgState.alarm): drops what has expired and
 * brings the KV mirror up to date. Idempotent: a repeated or early run
 * deletes nothing live and writes the mirror only when it is behind. A
 * failed mirror write does not throw: the runtime retries a throwing alarm
 * only a few times and then drops it, leaving the mirror behind and nothing
 * due to prune what expires later. The mirror counts the failure and puts
 * its next attempt off by a bounded backoff (RevocationMirror.write), which
 * the next alarm below is set for, so it catches up by itself.
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
  // A mirror write too soon after the last (revocation-mirror.ts, nextMirrorAt) waits for its turn.
  if (orgId !== undefined && mirror.isBehind(store.version()) && Date.now() >= mirror.notBefore()) {
    await mirror.write(snapshot(orgId));
  }
  // Read after the KV put, not before: the input gate opens for that I/O, so
  // a revoke may run meanwhile and set its own alarm 5 s out, which the
  // setAlarm below replaces. Its version is not in the snapshot just
  // written, so the mirror must stay due for it here, or it waited for the
  // first entry to expire (an hour).
  const mirrorDueAt = orgId !== undefined && mirror.isBehind(store.version()) ? mirror.notBefore() : null;
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
