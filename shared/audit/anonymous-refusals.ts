/**
 * Aggregation of anonymous refusals. A refusal with no authenticated
 * principal (no org, subject, actor or client: a request without a token, a
 * token that does not verify, a token request that names no client) costs
 * the sender nothing, so writing one row each would let anyone fill the audit
 * database. Instead each isolate folds them, per short window, into one event
 * per (kind, outcome, error, path or grant type) that carries how many there
 * were and when the first and last happened.
 *
 * No timer outlives a request: the first refusal of a window returns a
 * promise that waits out the window and then queues the aggregate (into the
 * isolate's batch, shared/audit/enqueue.ts); the caller holds it in
 * `waitUntil` (as every caller of `recordAuditInBackground` does), so the
 * runtime keeps the request's context alive until it has been handed over.
 * Later refusals of the same window only count and return at once.
 *
 * What can be lost: only what the isolate holds when the runtime itself dies
 * (a crash or an abrupt eviction), before the window ends — at most one
 * window's refusals per key in that isolate. By design, an aggregate keeps
 * only the key's fields: the other detail of each refusal (e.g. its method or
 * its exact time within the window) is not kept.
 */
import { timeOrderedId } from "../ids/time-ordered-id.ts";
import type { AuditRecord } from "./audit-record.ts";
import { capString } from "./caps.ts";
import { type AuditSink, queueAuditRecord } from "./enqueue.ts";
import type { AuditDetailValue, AuditEventInput } from "./record-audit.ts";

export const ANONYMOUS_REFUSAL_WINDOW_MS = 1_000;

/**
 * A producer's env may shorten the window, never lengthen it: its var
 * ANONYMOUS_REFUSAL_WINDOW_MS, a whole number of ms from 0 to the default;
 * anything else is the default. No wrangler.toml sets it. The authn Worker's
 * tests do (vitest.config.ts): their helper waits out each request's
 * background work, and a whole window for every anonymous refusal added up
 * to tens of seconds of waiting that tested nothing.
 */
export type AnonymousRefusalSink = AuditSink & { readonly ANONYMOUS_REFUSAL_WINDOW_MS?: string };

function windowMs(sink: AnonymousRefusalSink): number {
  const value = sink.ANONYMOUS_REFUSAL_WINDOW_MS;
  if (typeof value !== "string" || !/^\d{1,4}$/.test(value)) return ANONYMOUS_REFUSAL_WINDOW_MS;
  return Math.min(Number(value), ANONYMOUS_REFUSAL_WINDOW_MS);
}

/**
 * Distinct keys an isolate holds at once. An attacker can vary the path with
 * every request; past this many keys in a window, new paths and grant types
 * are folded into one OTHER_TARGET key per (kind, outcome, error).
 */
export const MAX_PENDING_KEYS = 32;

/** The detail fields that name an aggregate, each capped to KEY_FIELD_CHARS. */
export const AGGREGATE_KEY_FIELDS = ["error", "path", "grant_type"] as const;
export const KEY_FIELD_CHARS = 128;
/** Replaces the path or grant type of refusals beyond MAX_PENDING_KEYS. */
export const OTHER_TARGET = "[other]";

interface Pending {
  record: Omit<AuditRecord, "detail">;
  keyDetail: Record<string, string>;
  count: number;
  firstAt: number;
  lastAt: number;
}

const pending = new Map<string, Pending>();

export function isAnonymousRefusal(event: AuditEventInput): boolean {
  const refusal = event.outcome === "deny" || event.outcome === "refused";
  return refusal && !event.orgId && !event.subject && !event.actor && !event.clientId;
}

function keyFields(detail: Readonly<Record<string, AuditDetailValue>>, overflow: boolean): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const name of AGGREGATE_KEY_FIELDS) {
    const value = detail[name];
    if (value === undefined || value === null) continue;
    const text = Array.isArray(value) ? value.join(" ") : String(value);
    fields[name] = overflow && name !== "error" ? OTHER_TARGET : capString(text, KEY_FIELD_CHARS);
  }
  return fields;
}

function keyOf(event: AuditEventInput, fields: Record<string, string>): string {
  return JSON.stringify([event.kind, event.outcome, fields]);
}

/**
 * Folds one anonymous refusal (already redacted) into its window's
 * aggregate. The returned promise resolves, for the window's first refusal,
 * once that aggregate is in a batch (shared/audit/enqueue.ts says when that
 * batch is sent); for the others, at once.
 */
export function aggregateAnonymousRefusal(
  sink: AnonymousRefusalSink,
  event: AuditEventInput,
  detail: Readonly<Record<string, AuditDetailValue>>,
): Promise<void> {
  const now = Date.now();
  let fields = keyFields(detail, false);
  let key = keyOf(event, fields);
  if (!pending.has(key) && pending.size >= MAX_PENDING_KEYS) {
    fields = keyFields(detail, true);
    key = keyOf(event, fields);
  }
  const open = pending.get(key);
  if (open) {
    open.count += 1;
    open.lastAt = now;
    return Promise.resolve();
  }
  const aggregate: Pending = {
    record: {
      id: event.id ?? timeOrderedId(),
      occurredAt: now,
      orgId: null,
      kind: event.kind,
      outcome: event.outcome,
      subject: null,
      actor: null,
      clientId: null,
    },
    keyDetail: fields,
    count: 1,
    firstAt: now,
    lastAt: now,
  };
  pending.set(key, aggregate);
  return new Promise<void>((resolve) => setTimeout(resolve, windowMs(sink))).then(async () => {
    // Closed before sending: a refusal that arrives while it is being sent opens the next window.
    pending.delete(key);
    await queueAuditRecord(sink, {
      ...aggregate.record,
      detail: JSON.stringify({
        ...aggregate.keyDetail,
        count: aggregate.count,
        first_at: aggregate.firstAt,
        last_at: aggregate.lastAt,
      }),
    });
  });
}
