import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ACCESS_WEBHOOK_QUEUE,
  consumeWebhookDeliveries,
  type WebhookDelivery,
} from "../../workers/token/src/mcp/webhook-delivery.ts";
import { adminRequest } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { operatorToken } from "./mcp-access-fixtures.ts";

// A queued retry of the org's access webhook (workers/token/src/mcp/
// webhook-delivery.ts) goes only to the URL the org still names: an org that
// replaced or removed its webhook (a receiver retired, its domain let go)
// must not have signed events about its agents and people keep arriving
// there for the hours the backoff spans.

const receiver = (env as unknown as { SSF_TEST_RECEIVER: Fetcher }).SSF_TEST_RECEIVER;

async function attempts(name: string): Promise<number> {
  return ((await (await receiver.fetch(`https://hooks.example.test/push/${name}`)).json()) as { attempts: number })
    .attempts;
}

let operator: string;
beforeAll(async () => {
  operator = await operatorToken();
});

async function retry(delivery: WebhookDelivery) {
  const batch = createMessageBatch<WebhookDelivery>(ACCESS_WEBHOOK_QUEUE, [
    { id: "m0", timestamp: new Date(), attempts: 1, body: delivery },
  ]);
  const ctx = createExecutionContext();
  await consumeWebhookDeliveries(batch, env);
  return getQueueResult(batch, ctx);
}

async function auditOf(orgId: string) {
  const rows = await env.AUDIT_DB.prepare(
    "SELECT outcome, detail FROM audit_event WHERE org_id = ? AND kind = 'mcp.webhook'",
  )
    .bind(orgId)
    .all<{ outcome: string; detail: string }>();
  return rows.results.map((row) => ({ outcome: row.outcome, ...JSON.parse(row.detail) }));
}

function delivery(orgId: string, url: string): WebhookDelivery {
  return { delivery_id: crypto.randomUUID(), org_id: orgId, event: "access_request.created", url, body: "a.b.c" };
}

describe("a queued access-webhook retry", () => {
  for (const change of ["replaced", "removed"] as const) {
    it(`is dropped, unsent and audited, when the org ${change} its webhook since`, async () => {
      const orgId = await createTestOrg();
      const old = `hook-${crypto.randomUUID()}`;
      const oldUrl = `https://hooks.example.test/push/${old}`;
      const set =
        change === "replaced"
          ? await adminRequest("PUT", `/orgs/${orgId}/access-webhook`, {
              token: operator,
              body: { url: `https://hooks.example.test/push/hook-${crypto.randomUUID()}` },
            })
          : await adminRequest("DELETE", `/orgs/${orgId}/access-webhook`, { token: operator });
      expect(set.status).toBe(200);

      const sent = delivery(orgId, oldUrl);
      const result = await retry(sent);
      expect(result.explicitAcks).toEqual(["m0"]);
      expect(result.retryMessages).toEqual([]);
      expect(await attempts(old)).toBe(0);
      await expect
        .poll(() => auditOf(orgId), { timeout: 10_000 })
        .toEqual([
          expect.objectContaining({
            outcome: "refused",
            action: "abandoned",
            delivery_id: sent.delivery_id,
            event: "access_request.created",
            error: "ERR_WEBHOOK_URL_CHANGED",
          }),
        ]);
    });
  }

  it("still goes to the URL the org names", async () => {
    const orgId = await createTestOrg();
    const name = `hook-${crypto.randomUUID()}`;
    const url = `https://hooks.example.test/push/${name}`;
    const set = await adminRequest("PUT", `/orgs/${orgId}/access-webhook`, { token: operator, body: { url } });
    expect(set.status).toBe(200);
    const result = await retry(delivery(orgId, url));
    expect(result.explicitAcks).toEqual(["m0"]);
    expect(await attempts(name)).toBe(1);
  });
});
