import { recordAuditInBackground } from "../audit/record-audit.ts";
import {
  MAX_SUBJECT_REVOCATIONS_PER_CALL,
  type RevocationEvent,
  type SubjectRevocationsOutcome,
} from "../contracts/revocation.ts";
import { orgStateName } from "../contracts/storage-keys.ts";
import type { RevocationBindings } from "./record-revocation.ts";

/** One person's `subject` cut-off in the org, and why. */
export interface SubjectCutoff {
  userId: string;
  reason: string;
}

/**
 * Records `subject` cut-offs of several people in one org with one call to
 * its object per MAX_SUBJECT_REVOCATIONS_PER_CALL of them
 * (OrgState.revokeSubjects, one transaction each), not one call per
 * person: a SCIM rename of a large `admin` Group, or a cron run settling
 * an org's owed rows, made a call per person, and past Workers' limit of
 * subrequests per request the only outcome was failure. Every chunk is
 * tried even when another fails, and a person the object refuses does not
 * keep the others from being recorded. Each recorded cut-off is audited as
 * recordRevocation audits one (in the background with `waitUntil`, else
 * awaited; the isolate's audit batching sends them together,
 * shared/audit/enqueue.ts). Answers, in the order given, whether each was
 * recorded: a caller clears only what was.
 */
export async function recordSubjectCutoffs(
  env: RevocationBindings,
  orgId: string,
  cutoffs: readonly SubjectCutoff[],
  options: { waitUntil?: (promise: Promise<unknown>) => void } = {},
): Promise<boolean[]> {
  const stub = env.ORG_STATE.getByName(orgStateName(orgId));
  const recorded: boolean[] = [];
  const audits: Promise<void>[] = [];
  for (let from = 0; from < cutoffs.length; from += MAX_SUBJECT_REVOCATIONS_PER_CALL) {
    const events: RevocationEvent[] = cutoffs
      .slice(from, from + MAX_SUBJECT_REVOCATIONS_PER_CALL)
      .map(({ userId, reason }) => ({ orgId, kind: "subject", value: userId, reason }));
    let outcome: SubjectRevocationsOutcome;
    try {
      outcome = await stub.revokeSubjects(events);
    } catch (error) {
      console.error("revocations not recorded", "subject", orgId, events.length, error);
      recorded.push(...events.map(() => false));
      continue;
    }
    events.forEach((event, i) => {
      const one = outcome.subjects[i];
      // The outcome is read by position: one that does not name this person is not theirs.
      if (one?.recorded !== true || one.value !== event.value) {
        console.error("revocation not recorded", event.kind, orgId, "refused by the org's object");
        recorded.push(false);
        return;
      }
      recorded.push(true);
      audits.push(
        recordAuditInBackground(env, {
          kind: "revocation.recorded",
          outcome: "recorded",
          orgId,
          subject: event.value,
          detail: { revocation_kind: event.kind, value: event.value, reason: event.reason, version: one.seq },
        }),
      );
    });
  }
  const audited = Promise.all(audits);
  if (options.waitUntil) options.waitUntil(audited);
  else await audited;
  return recorded;
}
