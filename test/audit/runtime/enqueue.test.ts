// Audit records are coalesced per isolate into batched queue sends
// (shared/audit/enqueue.ts): fewer sends than events, every record lands,
// and a record the queue refuses is retried, then counted and logged in full.
//
// The sinks below wrap the real local audit Queue only to count calls; every
// record still goes through it to the real consumer and the real audit
// database.
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AuditMessage, AuditRecord } from "../../../shared/audit/audit-record.ts";
import {
  AUDIT_BATCH,
  type AuditSink,
  auditEnqueueFailures,
  auditQueueSends,
  ENQUEUE_ATTEMPTS,
  ENQUEUE_FAILED_EVENT,
  queueAuditRecord,
} from "../../../shared/audit/enqueue.ts";
import { recordAuditInBackground } from "../../../shared/audit/record-audit.ts";
import { ENDPOINT } from "../../../shared/contracts/endpoints.ts";
import { adminToken } from "../../token/admin-fixtures.ts";
import { arrivedRows } from "./audit-rows.ts";

function record(detail: string, subject = "user-1"): AuditRecord {
  return {
    id: crypto.randomUUID(),
    occurredAt: Date.now(),
    orgId: "org-1",
    kind: "gateway.decision",
    outcome: "allow",
    subject,
    actor: null,
    clientId: "c",
    detail,
  };
}

/**
 * The real audit Queue, with each call counted: `calls` holds the records
 * each call carried, `messages` the messages (a pack is one message).
 */
function countingSink(): { sink: AuditSink; calls: number[]; messages: number[] } {
  const calls: number[] = [];
  const messages: number[] = [];
  const real = env.AUDIT_QUEUE;
  const recordsIn = (body: AuditMessage) => ("pack" in body ? body.pack.length : 1);
  const queue = {
    send: (body: AuditMessage, options?: QueueSendOptions) => {
      calls.push(recordsIn(body));
      messages.push(1);
      return real.send(body, options);
    },
    sendBatch: (sent: Iterable<MessageSendRequest<AuditMessage>>, options?: QueueSendBatchOptions) => {
      const list = [...sent];
      calls.push(list.reduce((n, m) => n + recordsIn(m.body), 0));
      messages.push(list.length);
      return real.sendBatch(list, options);
    },
  } as Queue<AuditMessage>;
  return { sink: { AUDIT_QUEUE: queue }, calls, messages };
}

async function countBySubject(subject: string): Promise<number> {
  const row = await env.AUDIT_DB.prepare("SELECT count(*) AS n FROM audit_event WHERE subject = ?")
    .bind(subject)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("audit enqueue: coalescing", () => {
  it("N events from one isolate within the window: one sendBatch of one message (a pack), every row lands", async () => {
    const { sink, calls, messages } = countingSink();
    const subject = `coalesced-${crypto.randomUUID()}`;
    const n = 40;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        recordAuditInBackground(sink, {
          kind: "gateway.decision",
          outcome: "allow",
          orgId: "org-1",
          subject,
          detail: { i },
        }),
      ),
    );
    expect(calls).toEqual([n]);
    expect(messages).toEqual([1]);
    await expect.poll(() => countBySubject(subject)).toBe(n);
  });

  it("a batch holds at most maxRecords: 250 events are three sends", async () => {
    const { sink, calls } = countingSink();
    const subject = `full-${crypto.randomUUID()}`;
    await Promise.all(Array.from({ length: 250 }, () => queueAuditRecord(sink, record("{}", subject))));
    expect(AUDIT_BATCH.maxRecords).toBe(100);
    expect(calls).toEqual([100, 100, 50]);
    await expect.poll(() => countBySubject(subject)).toBe(250);
  });

  it("a batch holds at most maxBytes: large records close it early", async () => {
    const { sink, calls, messages } = countingSink();
    const subject = `bytes-${crypto.randomUUID()}`;
    // About 12 KiB each as the batch measures them (3 bytes per character).
    const large = JSON.stringify({ blob: "x".repeat(4_000) });
    await Promise.all(Array.from({ length: 20 }, () => queueAuditRecord(sink, record(large, subject))));
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(20);
    // A batch larger than one message's room goes as several packs.
    expect(Math.max(...messages)).toBeGreaterThan(1);
    await expect.poll(() => countBySubject(subject)).toBe(20);
  });

  it("concurrent requests to the Worker share batches: fewer sends than events", async () => {
    const token = await adminToken();
    // Let the token request's own audit event go out first.
    await new Promise((resolve) => setTimeout(resolve, AUDIT_BATCH.windowMs * 2));
    const before = auditQueueSends();
    const n = 20;
    const responses = await Promise.all(
      Array.from({ length: n }, () =>
        exports.default.fetch(
          new Request(`http://localhost${ENDPOINT.admin}/keys`, { headers: { Authorization: `Bearer ${token}` } }),
        ),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(n).fill(200));
    const jti = JSON.parse(atob(token.split(".")[1] ?? "")).jti as string;
    const read = () =>
      env.AUDIT_DB.prepare(
        "SELECT count(*) AS n FROM audit_event WHERE kind = 'admin.action' AND json_extract(detail, '$.operator_jti') = ?",
      )
        .bind(jti)
        .first<{ n: number }>();
    await expect.poll(async () => (await read())?.n).toBe(n);
    const sends = auditQueueSends() - before;
    expect(sends).toBeGreaterThan(0);
    expect(sends).toBeLessThan(n);
  });

  it("a batch its opener never held is sent by the next record", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const { sink, calls } = countingSink();
    const subject = `stranded-${crypto.randomUUID()}`;
    // The opener's promise is dropped and its timer never fires: its request is gone.
    void queueAuditRecord(sink, record("{}", subject));
    vi.setSystemTime(Date.now() + AUDIT_BATCH.strandedMs + 1);
    await queueAuditRecord(sink, record("{}", subject));
    vi.useRealTimers();
    expect(calls).toEqual([2]);
    await expect.poll(() => countBySubject(subject)).toBe(2);
  });
});

describe("audit enqueue: failures", () => {
  it("a batch the queue refuses is retried, then each record alone: only the bad one is lost, logged whole", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const before = auditEnqueueFailures();
    const { sink, calls } = countingSink();
    const subject = `refused-${crypto.randomUUID()}`;
    // No producer builds this (record-audit.ts writes capped strings): a
    // field the batch does not measure, over the queue's 128 KB message
    // limit, so the real queue refuses every batch it is in.
    const unsendable = { ...record("{}", subject), actor: { blob: "x".repeat(200_000) } as unknown as string };
    const fine = [record("{}", subject), record("{}", subject)];
    await Promise.all([fine[0], unsendable, fine[1]].map((r) => queueAuditRecord(sink, r as AuditRecord)));
    // Three whole-batch attempts, then one send per record.
    expect(calls).toEqual([3, 3, 3, 1, 1, 1]);
    expect(auditEnqueueFailures()).toBe(before + 1);
    const lines = errors.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      event: ENQUEUE_FAILED_EVENT,
      attempts: ENQUEUE_ATTEMPTS,
      failures_in_isolate: before + 1,
      record: { id: unsendable.id, subject, detail: "{}" },
    });
    expect(ENQUEUE_ATTEMPTS).toBe(4);
    await expect.poll(() => countBySubject(subject)).toBe(2);
  });

  it("a record too large for the queue is sent alone, and logged whole when refused", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const before = auditEnqueueFailures();
    const { sink, calls } = countingSink();
    // Producers never build this (caps.ts bounds a record to a few KiB); the
    // real local queue refuses a message over its 128 KB limit.
    const oversized = record(JSON.stringify({ blob: "x".repeat(200_000) }));
    await queueAuditRecord(sink, oversized);
    expect(calls).toEqual([1, 1, 1, 1]);
    expect(auditEnqueueFailures()).toBe(before + 1);
    const lines = errors.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>);
    expect(lines).toEqual([expect.objectContaining({ event: ENQUEUE_FAILED_EVENT, record: oversized })]);
  });

  it("a send that succeeds is not counted, and the record arrives", async () => {
    const before = auditEnqueueFailures();
    const ok = record(JSON.stringify({ ok: true }));
    await queueAuditRecord(env, ok);
    expect(auditEnqueueFailures()).toBe(before);
    const rows = await arrivedRows("SELECT id, detail FROM audit_event WHERE id = ?", ok.id);
    expect(rows).toEqual([{ id: ok.id, detail: ok.detail }]);
  });
});
