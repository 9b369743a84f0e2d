import { env, exports } from "cloudflare:workers";
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { ACCESS_EVENT_JWT_TYP } from "../../shared/contracts/mcp.ts";
import { MAX_WEBHOOK_ATTEMPTS } from "../../workers/token/src/mcp/webhook-delivery.ts";
import { adminRequest, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { approve, fileRequest, operatorToken, type RequestView, setup } from "./mcp-access-fixtures.ts";

// The org's access webhook (workers/token/src/mcp/notify.ts,
// webhook-delivery.ts), delivered to a real receiver Worker
// (test/support/runtime/ssf-receiver, bound as ACCESS_WEBHOOK_OUTBOUND here)
// that can be told to fail its first attempts. The retry queue's backoff
// starts from 0 in this project (vitest.config.ts), so every attempt comes
// at once.

interface ReceiverLog {
  attempts: number;
  received: { contentType: string | null; webhookId: string | null; body: string }[];
}

const receiver = (env as unknown as { SSF_TEST_RECEIVER: Fetcher }).SSF_TEST_RECEIVER;

async function receiverLog(name: string): Promise<ReceiverLog> {
  return (await receiver.fetch(`https://hooks.example.test/push/${name}`)).json();
}

let operator: string;
beforeAll(async () => {
  operator = await operatorToken();
});

/** An org whose webhook is the receiver `name`, failing its first `failFirst` attempts. */
async function hooked(failFirst = 0) {
  const world = await setup();
  const name = `hook-${crypto.randomUUID()}`;
  const url = `https://hooks.example.test/push/${name}${failFirst > 0 ? `/fail/${failFirst}` : ""}`;
  const set = await adminRequest("PUT", `/orgs/${world.orgId}/access-webhook`, { token: operator, body: { url } });
  expect(await set.json()).toEqual({ url });
  return { ...world, name, url };
}

describe("notifications: the org's signed webhook", () => {
  it("refuses a webhook URL that is not public https (400 invalid_body)", async () => {
    const orgId = await createTestOrg();
    for (const url of ["http://hooks.example.com", "https://192.168.1.1/hook", "not a url"]) {
      const response = await adminRequest("PUT", `/orgs/${orgId}/access-webhook`, { token: operator, body: { url } });
      expect((await expectHttpError(response, 400, "invalid_body")).detail).toMatch(/^url:/);
    }
  });

  it("POSTs a JWS signed with the issuer's key (typ mono-access-event+jwt) on a new request and on its decision, its jti as Webhook-Id", async () => {
    const { orgId, token, name, url } = await hooked();
    const request = await fileRequest(token);
    await expect.poll(async () => (await receiverLog(name)).received.length).toBe(1);
    await approve(orgId, request.id);
    await expect.poll(async () => (await receiverLog(name)).received.length).toBe(2);

    const jwks = (await (await exports.default.fetch(`http://localhost${ENDPOINT.jwks}`)).json()) as JSONWebKeySet;
    const events: string[] = [];
    for (const delivery of (await receiverLog(name)).received) {
      expect(delivery.contentType).toBe("application/jwt");
      const { payload, protectedHeader } = await jwtVerify(delivery.body, createLocalJWKSet(jwks), {
        issuer: env.ISSUER,
        audience: url,
        typ: ACCESS_EVENT_JWT_TYP,
      });
      expect(protectedHeader.alg).toBe("ES256");
      expect(payload.org_id).toBe(orgId);
      expect(delivery.webhookId).toBe(payload.jti);
      const [type, event] = Object.entries(payload.events as Record<string, { access_request: RequestView }>)[0] ?? [];
      expect(event?.access_request.id).toBe(request.id);
      events.push(type as string);
    }
    expect(events).toEqual(["access_request.created", "access_request.approved"]);
  });
});

describe("notifications: retries", () => {
  it("a receiver that fails twice gets the event on the third attempt, through the retry queue: the same body and Webhook-Id", async () => {
    const { token, name } = await hooked(2);
    await fileRequest(token);
    await expect.poll(() => receiverLog(name), { timeout: 30_000 }).toMatchObject({ attempts: 3 });
    const log = await receiverLog(name);
    expect(log.received).toHaveLength(1);
    const [delivery] = log.received;
    expect(delivery?.webhookId).toBe(decodeJwt(delivery?.body ?? "").jti);
    expect(decodeJwt(delivery?.body ?? "").events).toHaveProperty("access_request.created");
  }, 60_000);

  it(`gives up after ${MAX_WEBHOOK_ATTEMPTS} attempts in all and records it in the audit trail (mcp.webhook, gave_up)`, async () => {
    const { orgId, token, name } = await hooked(100);
    await fileRequest(token);
    const gaveUp = () =>
      env.AUDIT_DB.prepare("SELECT outcome, detail FROM audit_event WHERE org_id = ? AND kind = 'mcp.webhook'")
        .bind(orgId)
        .all<{ outcome: string; detail: string }>()
        .then((r) => r.results.map((row) => ({ outcome: row.outcome, ...JSON.parse(row.detail) })));
    await expect.poll(gaveUp, { timeout: 30_000 }).toEqual([
      expect.objectContaining({
        outcome: "refused",
        action: "gave_up",
        event: "access_request.created",
        attempts: MAX_WEBHOOK_ATTEMPTS,
        error: "HTTP 503",
        delivery_id: expect.any(String),
      }),
    ]);
    const log = await receiverLog(name);
    expect(log).toEqual({ attempts: MAX_WEBHOOK_ATTEMPTS, received: [] });
  }, 60_000);
});
