// Revoking an MCP grant (admin DELETE /orgs/{org}/mcp-grants/{id}) records
// the `grant` revocation in the org's Durable Object FIRST, as a delegation
// grant's does (test/token/grant-revocation-recorded-first.test.ts,
// workers/token/src/revocations/grant-revocation.ts), and only then marks
// D1, audits it and sends the org's webhook `grant.revoked`: a 503 leaves
// none of them saying revoked while the grant is live. How the object and
// D1 are made to refuse: grant-revocation-fixtures.ts.
import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { adminRequest } from "./admin-fixtures.ts";
import {
  expectRecordedWithSlack,
  expectUnavailable,
  expectUnavailableWhileD1Refuses,
  grantEntries,
  grantEvents,
  renameGrant,
  revokedOk,
  revokedTwiceAtOnce,
  unrecordable,
} from "./grant-revocation-fixtures.ts";
import { approve, fileRequest, type GrantView, operatorToken, setup } from "./mcp-access-fixtures.ts";

interface ReceiverLog {
  received: { body: string }[];
}

let operator: string;
beforeAll(async () => {
  operator = await operatorToken();
});

const receiver = (env as unknown as { SSF_TEST_RECEIVER: Fetcher }).SSF_TEST_RECEIVER;

/** The event types the org's webhook received, in order. */
async function webhookEvents(name: string): Promise<string[]> {
  const log = (await (await receiver.fetch(`https://hooks.example.test/push/${name}`)).json()) as ReceiverLog;
  return log.received.map((delivery) => Object.keys(decodeJwt(delivery.body).events as object)[0] as string);
}

async function grantRevokedAudits(orgId: string, grantId: string): Promise<string[]> {
  const rows = await env.AUDIT_DB.prepare(
    "SELECT detail FROM audit_event WHERE kind = 'mcp.grant' AND org_id = ? AND detail LIKE '%\"revoke\"%'",
  )
    .bind(orgId)
    .all<{ detail: string }>();
  return rows.results
    .map((row) => JSON.parse(row.detail) as { grant_id: string })
    .filter((detail) => detail.grant_id === grantId)
    .map((detail) => detail.grant_id);
}

/** An agent's grant for its org (no person: the entry names the MCP grant), the org's webhook a test receiver. */
async function mcpWorld() {
  const world = await setup();
  const name = `hook-${crypto.randomUUID()}`;
  const hooked = await adminRequest("PUT", `/orgs/${world.orgId}/access-webhook`, {
    token: operator,
    body: { url: `https://hooks.example.test/push/${name}` },
  });
  expect(hooked.status).toBe(200);
  const request = await fileRequest(world.token);
  const { grant } = (await (await approve(world.orgId, request.id)).json()) as { grant: GrantView };
  await expect.poll(() => webhookEvents(name)).toEqual(["access_request.created", "access_request.approved"]);
  return { ...world, name, grant };
}

const mcpGrantPath = (orgId: string, id: string) => `/orgs/${orgId}/mcp-grants/${id}`;
const liveGrants = (orgId: string, clientId: string) =>
  exports.McpRegistryService.liveGrants({ orgId, clientId, server: "demo" });

type McpWorld = Awaited<ReturnType<typeof mcpWorld>>;

/** Nobody was told of a revocation: a later request's event reaches the webhook with nothing before it, and no audit says revoked. */
async function expectUnannounced({ orgId, token, name, grant }: McpWorld): Promise<void> {
  await fileRequest(token);
  await expect
    .poll(() => webhookEvents(name))
    .toEqual(["access_request.created", "access_request.approved", "access_request.created"]);
  expect(await grantRevokedAudits(orgId, grant.id)).toEqual([]);
}

/** The revocation announced once, after that later request's event, and audited once. */
async function expectAnnouncedOnce({ orgId, name, grant }: McpWorld): Promise<void> {
  await expect
    .poll(() => webhookEvents(name))
    .toEqual(["access_request.created", "access_request.approved", "access_request.created", "grant.revoked"]);
  await expect.poll(() => grantRevokedAudits(orgId, grant.id)).toEqual([grant.id]);
}

describe("revoking an MCP grant: the cut-off is recorded before D1, the audit trail or the webhook says revoked", () => {
  it("the object refuses: 503 with the grant live, unannounced and unaudited; the retry records it and announces it once", async () => {
    const world = await mcpWorld();
    const { orgId, agent, grant } = world;
    const unrecordableId = unrecordable(grant.id);
    await renameGrant("mcp_grant", grant.id, unrecordableId);
    await expectUnavailable(operator, mcpGrantPath(orgId, unrecordableId));
    await renameGrant("mcp_grant", unrecordableId, grant.id);
    // Still the grant the gateway honours, and nobody was told otherwise: a later event arrives with nothing before it.
    expect((await liveGrants(orgId, agent.clientId)).map((live) => live.id)).toEqual([grant.id]);
    expect(await grantEntries(orgId)).toEqual([]);
    await expectUnannounced(world);

    const { response, answeredAt } = await revokedOk(operator, mcpGrantPath(orgId, grant.id));
    expect((await response.json()) as GrantView).toMatchObject({ id: grant.id, status: "revoked" });
    expect(await liveGrants(orgId, agent.clientId)).toEqual([]);
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    await expectRecordedWithSlack(orgId, grant.id, 1, answeredAt);
    await expectAnnouncedOnce(world);
  });

  it("D1 fails after the object has it: 503, the entry recorded, nothing announced; the retry marks it and announces it once", async () => {
    const world = await mcpWorld();
    const { orgId, agent, grant } = world;
    await expectUnavailableWhileD1Refuses(operator, mcpGrantPath(orgId, grant.id), "mcp_grant", grant.id);
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    expect(await grantEvents(orgId, grant.id)).toHaveLength(1);
    await expectUnannounced(world);

    const { answeredAt } = await revokedOk(operator, mcpGrantPath(orgId, grant.id));
    expect(await liveGrants(orgId, agent.clientId)).toEqual([]);
    // The retry records again, first: one event more.
    await expectRecordedWithSlack(orgId, grant.id, 2, answeredAt);
    await expectAnnouncedOnce(world);
  });

  it("two DELETEs of the same grant fired at once: both 200 with one revoked_at, recorded, announced and audited once", async () => {
    const { orgId, agent, token, name, grant } = await mcpWorld();
    const { answeredAt } = await revokedTwiceAtOnce<GrantView>(operator, mcpGrantPath(orgId, grant.id));
    expect(await liveGrants(orgId, agent.clientId)).toEqual([]);
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    // Each call records once, first; neither again.
    await expectRecordedWithSlack(orgId, grant.id, 2, answeredAt);
    // Exactly one grant.revoked among the events, a later one's included (the order of two deliveries in flight is theirs).
    await fileRequest(token);
    await expect
      .poll(async () => (await webhookEvents(name)).sort())
      .toEqual(["access_request.approved", "access_request.created", "access_request.created", "grant.revoked"]);
    await expect.poll(() => grantRevokedAudits(orgId, grant.id)).toEqual([grant.id]);
  });
});
