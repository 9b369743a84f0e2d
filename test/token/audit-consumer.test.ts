import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AuditRecord } from "../../shared/audit/audit-record.ts";
import { AUDIT_DEAD_LETTER_QUEUE_NAME, AUDIT_QUEUE_NAME } from "../../shared/audit/queues.ts";
import { redactAuditDetail } from "../../shared/audit/record-audit.ts";
import { CONSUMER_LOG_EVENT, consumeAuditBatch } from "../../workers/token/src/audit-consumer.ts";

function record(i: number, batch: string): AuditRecord {
  return {
    id: `${batch}-${i}`,
    occurredAt: Date.now(),
    orgId: "org-a",
    kind: "gateway.decision",
    outcome: "allow",
    subject: "user-1",
    actor: null,
    clientId: "c",
    detail: JSON.stringify({ i }),
  };
}

function messages(bodies: readonly unknown[]) {
  return bodies.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body }));
}

async function deliver(
  queue: string,
  bodies: readonly unknown[],
  target: Pick<TokenEnv, "AUDIT_DB" | "KEY_ENCRYPTION_SECRET"> = env,
) {
  const batch = createMessageBatch<unknown>(queue, messages(bodies));
  const ctx = createExecutionContext();
  await consumeAuditBatch(batch, target);
  return getQueueResult(batch, ctx);
}

async function countRows(prefix: string): Promise<number> {
  const row = await env.AUDIT_DB.prepare("SELECT count(*) AS n FROM audit_event WHERE id LIKE ?")
    .bind(`${prefix}-%`)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

/** The structured lines the consumer wrote with console.error, parsed. */
function loggedEvents(spy: { mock: { calls: unknown[][] } }): Record<string, unknown>[] {
  return spy.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the audit databases", () => {
  it("audit_event lives in the audit database, and no longer in the main one", async () => {
    const table = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'audit_event'";
    expect(await env.DB.prepare(table).first()).toBeNull();
    expect(await env.AUDIT_DB.prepare(table).first()).toEqual({ name: "audit_event" });
  });
});

describe("audit Queue consumer", () => {
  it("writes a whole delivery in one batch and acks it whole; a redelivery adds nothing", async () => {
    const batchId = crypto.randomUUID();
    const bodies = Array.from({ length: 25 }, (_, i) => record(i, batchId));
    for (let delivery = 0; delivery < 2; delivery++) {
      const result = await deliver(AUDIT_QUEUE_NAME, bodies);
      // Every message written: one acknowledgement for the delivery (ackAll), none left to retry.
      expect(result.ackAll).toBe(true);
      expect(result.retryMessages).toEqual([]);
      expect(result.retryBatch.retry).toBe(false);
    }
    expect(await countRows(batchId)).toBe(25);
  });

  it("retries, and does not ack, a delivery it cannot write", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const batchId = crypto.randomUUID();
    const bodies = Array.from({ length: 3 }, (_, i) => record(i, batchId));
    // The real main database, which has no audit_event table: the write fails in D1 itself.
    const result = await deliver(AUDIT_QUEUE_NAME, bodies, {
      AUDIT_DB: env.DB,
      KEY_ENCRYPTION_SECRET: env.KEY_ENCRYPTION_SECRET,
    });
    expect(result.explicitAcks).toEqual([]);
    expect(result.ackAll).toBe(false);
    expect(result.retryMessages.map((m) => m.msgId).sort()).toEqual(["m0", "m1", "m2"]);
    expect(await countRows(batchId)).toBe(0);
    const [line] = loggedEvents(errors);
    expect(line).toMatchObject({ event: CONSUMER_LOG_EVENT.writeFailed, queue: AUDIT_QUEUE_NAME, messages: 3 });
    // On the main queue the records stay in the queue, not in the log.
    expect(line).not.toHaveProperty("records");
  });

  it("sets apart a message that is not an audit record and writes the rest", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const batchId = crypto.randomUUID();
    const bodies = [record(0, batchId), { id: `${batchId}-bad`, detail: null }, record(2, batchId)];
    const result = await deliver(AUDIT_QUEUE_NAME, bodies);
    expect(result.explicitAcks.sort()).toEqual(["m0", "m2"]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m1"]);
    expect(await countRows(batchId)).toBe(2);
    expect(loggedEvents(errors)).toEqual([
      {
        event: CONSUMER_LOG_EVENT.invalidMessage,
        queue: AUDIT_QUEUE_NAME,
        message_id: "m1",
        attempts: 1,
        body: JSON.stringify({ id: `${batchId}-bad`, detail: null }),
      },
    ]);
  });
});

describe("audit Queue consumer: packs (one message, many records)", () => {
  it("writes every record of every pack, beside single-record messages, and acks the delivery whole", async () => {
    const batchId = crypto.randomUUID();
    const bodies = [
      { pack: Array.from({ length: 40 }, (_, i) => record(i, batchId)) },
      record(40, batchId),
      { pack: Array.from({ length: 9 }, (_, i) => record(41 + i, batchId)) },
    ];
    const result = await deliver(AUDIT_QUEUE_NAME, bodies);
    expect(result.ackAll).toBe(true);
    expect(result.retryMessages).toEqual([]);
    expect(await countRows(batchId)).toBe(50);
  });

  it("sets apart a pack holding anything that is not an audit record, whole, and writes the rest", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const batchId = crypto.randomUUID();
    const bodies = [
      { pack: [record(0, batchId), { id: `${batchId}-bad` }] },
      { pack: [] },
      { pack: [record(2, batchId), record(3, batchId)] },
    ];
    const result = await deliver(AUDIT_QUEUE_NAME, bodies);
    expect(result.explicitAcks).toEqual(["m2"]);
    expect(result.retryMessages.map((m) => m.msgId).sort()).toEqual(["m0", "m1"]);
    expect(await countRows(batchId)).toBe(2);
    expect(loggedEvents(errors).map((line) => [line.event, line.message_id])).toEqual([
      [CONSUMER_LOG_EVENT.invalidMessage, "m0"],
      [CONSUMER_LOG_EVENT.invalidMessage, "m1"],
    ]);
  });
});

describe("audit dead-letter queue consumer (the replay path)", () => {
  it("writes replayed events once, skipping those already written", async () => {
    const logs = vi.spyOn(console, "log").mockImplementation(() => {});
    const batchId = crypto.randomUUID();
    const bodies = Array.from({ length: 6 }, (_, i) => record(i, batchId));
    // Half of them made it to the audit database before the batch was dead-lettered.
    await deliver(AUDIT_QUEUE_NAME, bodies.slice(0, 3));
    const result = await deliver(AUDIT_DEAD_LETTER_QUEUE_NAME, bodies);
    expect(result.ackAll).toBe(true);
    expect(result.retryMessages).toEqual([]);
    expect(await countRows(batchId)).toBe(6);
    expect(loggedEvents(logs)).toEqual([{ event: CONSUMER_LOG_EVENT.replayed, messages: 6, written: 3, skipped: 3 }]);
    // A second replay of the same batch changes nothing.
    await deliver(AUDIT_DEAD_LETTER_QUEUE_NAME, bodies);
    expect(await countRows(batchId)).toBe(6);
  });

  it("keeps retrying what it cannot write, and logs the records in full", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const batchId = crypto.randomUUID();
    const bodies = [record(0, batchId)];
    const result = await deliver(AUDIT_DEAD_LETTER_QUEUE_NAME, bodies, {
      AUDIT_DB: env.DB,
      KEY_ENCRYPTION_SECRET: env.KEY_ENCRYPTION_SECRET,
    });
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m0"]);
    expect(loggedEvents(errors)[0]).toMatchObject({
      event: CONSUMER_LOG_EVENT.writeFailed,
      queue: AUDIT_DEAD_LETTER_QUEUE_NAME,
      messages: 1,
      records: bodies,
    });
  });
});

describe("audit producer redaction", () => {
  it("redacts credential-like keys before an event leaves the producer", () => {
    expect(redactAuditDetail({ jti: "j", access_token: "eyJ", client_secret: "s", password: "p", scope: "x" })).toEqual(
      {
        jti: "j",
        access_token: "[redacted]",
        client_secret: "[redacted]",
        password: "[redacted]",
        scope: "x",
      },
    );
  });
});
