// An audit event that cannot be queued is retried, then counted and logged in
// full (shared/audit/enqueue.ts): never only a bare log line.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AuditRecord } from "../../../shared/audit/audit-record.ts";
import {
  auditEnqueueFailures,
  ENQUEUE_ATTEMPTS,
  ENQUEUE_FAILED_EVENT,
  enqueueAuditRecord,
} from "../../../shared/audit/enqueue.ts";
import { arrivedRows } from "./audit-rows.ts";

function record(detail: string): AuditRecord {
  return {
    id: crypto.randomUUID(),
    occurredAt: Date.now(),
    orgId: "org-1",
    kind: "gateway.decision",
    outcome: "allow",
    subject: "user-1",
    actor: null,
    clientId: "c",
    detail,
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("audit enqueue", () => {
  it("a send the queue refuses is retried, then counted and logged with the whole record", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const before = auditEnqueueFailures();
    // Producers never build this (caps.ts bounds a record to a few KiB); the
    // real local queue refuses a message over its 128 KB limit on every attempt.
    const oversized = record(JSON.stringify({ blob: "x".repeat(200_000) }));
    expect(await enqueueAuditRecord(env, oversized)).toBe(false);
    expect(auditEnqueueFailures()).toBe(before + 1);
    const lines = errors.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      event: ENQUEUE_FAILED_EVENT,
      attempts: ENQUEUE_ATTEMPTS,
      failures_in_isolate: before + 1,
      record: oversized,
    });
    expect(ENQUEUE_ATTEMPTS).toBe(3);
  });

  it("a send that succeeds is not counted, and the record arrives", async () => {
    const before = auditEnqueueFailures();
    const ok = record(JSON.stringify({ ok: true }));
    expect(await enqueueAuditRecord(env, ok)).toBe(true);
    expect(auditEnqueueFailures()).toBe(before);
    const rows = await arrivedRows("SELECT id, detail FROM audit_event WHERE id = ?", ok.id);
    expect(rows).toEqual([{ id: ok.id, detail: ok.detail }]);
  });
});
