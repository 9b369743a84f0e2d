import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AuditRecord } from "../../shared/audit/audit-record.ts";
import { redactAuditDetail } from "../../shared/audit/record-audit.ts";
import { consumeAuditBatch } from "../../workers/token/src/audit-consumer.ts";

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

describe("audit Queue consumer", () => {
  it("writes a whole delivery in one batch, and a redelivery adds nothing", async () => {
    const batchId = crypto.randomUUID();
    const messages = Array.from({ length: 25 }, (_, i) => ({
      id: `m${i}`,
      timestamp: new Date(),
      attempts: 1,
      body: record(i, batchId),
    }));
    for (let delivery = 0; delivery < 2; delivery++) {
      const batch = createMessageBatch<AuditRecord>("mono-auth-audit", messages);
      const ctx = createExecutionContext();
      await consumeAuditBatch(batch, env);
      const result = await getQueueResult(batch, ctx);
      expect(result.ackAll).toBe(true);
      expect(result.retryBatch.retry).toBe(false);
    }
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM audit_event WHERE id LIKE ?")
      .bind(`${batchId}-%`)
      .first<{ n: number }>())!;
    expect(n).toBe(25);
  });

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
