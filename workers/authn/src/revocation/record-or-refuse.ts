import { APIError } from "better-auth/api";
import type { RevocationEvent } from "../../../../shared/contracts/revocation.ts";
import { type RevocationBindings, recordRevocation } from "../../../../shared/revocation/record-revocation.ts";

/**
 * Better Auth's error code when a revocation could not be recorded. The
 * operation that needed it (a sign-out, a member removal, …) fails with 503
 * instead of reporting success: tokens it should have cut off would still
 * pass the gateway.
 */
export const REVOCATION_NOT_RECORDED = "REVOCATION_NOT_RECORDED";

export function revocationNotRecorded(): APIError {
  return new APIError("SERVICE_UNAVAILABLE", {
    code: REVOCATION_NOT_RECORDED,
    message: "the change could not be made safely; try again",
  });
}

/** Why, as the audit trail shows it: the reason plus the endpoint that caused it. */
export function revocationReason(reason: string, path: string | undefined): string {
  return path ? `${reason} ${path}`.slice(0, 128) : reason;
}

/**
 * Records every event, each in its org's Durable Object, all of them tried
 * even when one fails (one unreachable org must not leave the others
 * unrecorded). Returns the events that were recorded and whether any was not.
 */
export async function recordEach(
  env: RevocationBindings,
  events: readonly RevocationEvent[],
): Promise<{ recorded: RevocationEvent[]; allRecorded: boolean }> {
  const outcomes = await Promise.allSettled(events.map((event) => recordRevocation(env, event)));
  const recorded: RevocationEvent[] = [];
  outcomes.forEach((outcome, i) => {
    if (outcome.status === "fulfilled") recorded.push(events[i] as RevocationEvent);
    else console.error("revocation not recorded", events[i]?.kind, events[i]?.orgId, outcome.reason);
  });
  return { recorded, allRecorded: recorded.length === events.length };
}

/** Records every event or throws `revocationNotRecorded()`. */
export async function recordAllOrRefuse(env: RevocationBindings, events: readonly RevocationEvent[]): Promise<void> {
  if (!(await recordEach(env, events)).allRecorded) throw revocationNotRecorded();
}
