import type {
  RevocationEvent,
  RevocationLogEvent,
  SubjectRevocationsOutcome,
} from "../../../shared/contracts/revocation.ts";
import { dropCoveredBrowserGrants } from "./browser-grant-revocation.ts";
import type { RevocationLog } from "./revocation-log.ts";

/** A value the object takes for an entry: what OrgState.revoke checks too. */
function isRecordableValue(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= 256;
}

/**
 * Records `subject` cut-offs of several people inside the caller's
 * transaction, in the order given, each exactly as OrgState.revoke records
 * one: the entry (a repeated person's moves forward), the person's
 * browser-grant entries it covers dropped (dropCoveredBrowserGrants, as a
 * gateway view does on every subject event), one version bump and one log
 * event. So a reader of the log or the snapshot cannot tell these from as
 * many revoke calls. A person whose value the object does not take is
 * `refused` and records nothing; the others are recorded all the same (a
 * caller clearing owed rows clears only the recorded people's). Returns the
 * outcomes and the events logged, for the caller to publish after the
 * commit.
 */
export function storeSubjectRevocations(
  sql: SqlStorage,
  log: RevocationLog,
  nextSeq: () => number,
  events: readonly RevocationEvent[],
  now: number,
  expiresAt: number,
): { subjects: SubjectRevocationsOutcome["subjects"]; logged: RevocationLogEvent[] } {
  const subjects: SubjectRevocationsOutcome["subjects"] = [];
  const logged: RevocationLogEvent[] = [];
  for (const event of events) {
    const value = event.value;
    if (!isRecordableValue(value)) {
      subjects.push({ value: String(value), recorded: false });
      continue;
    }
    sql.exec(
      `INSERT INTO revocation (kind, value, revoked_at, expires_at) VALUES ('subject', ?, ?, ?)
       ON CONFLICT (kind, value) DO UPDATE SET revoked_at = excluded.revoked_at,
         expires_at = max(revocation.expires_at, excluded.expires_at)`,
      value,
      now,
      expiresAt,
    );
    dropCoveredBrowserGrants(sql, value, now);
    const appended = log.append({
      seq: nextSeq(),
      kind: "subject",
      value,
      revoked_at: now,
      expires_at: expiresAt,
      reason: String(event.reason ?? ""),
    });
    logged.push(appended);
    subjects.push({ value, recorded: true, seq: appended.seq });
  }
  return { subjects, logged };
}
