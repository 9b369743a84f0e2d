// Revoking a delegation grant (admin DELETE /orgs/{org}/delegation-grants/{id})
// or an MCP grant (DELETE /orgs/{org}/mcp-grants/{id}) records the `grant`
// revocation in the org's Durable Object FIRST and only then marks D1
// (workers/token/src/revocations/grant-revocation.ts). Before, D1 was marked
// first: a 503 from the object left the grant `revoked` in every list, the
// audit trail and the `grant.revoked` webhook while the tokens minted under
// it (`grant_id`) kept passing until they expired, unless the operator
// happened to retry. The recording asks for GRANT_RECORDING_SLACK_SECONDS
// more life, so the one entry outlives a token minted in flight while D1
// marks it, and a revocation is one event in the org's log (what WebSocket
// subscribers, gateway channels and SSF receivers are sent), not two; a D1
// mark slower than the slack is covered by a second recording
// (test/token/grant-revocation-second-recording.test.ts).
//
// The org's object is made to refuse as in mcp-access-review.test.ts and
// oidc-grant-owed-cutoff.test.ts: it records no value longer than 256
// characters, so the grant's row is given an id that long ("the object is
// back" is the row given its own id again). D1 is made to fail for one row by
// a trigger that aborts the update of that row: a real D1 error, no binding
// mocked.
import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { RevocationLogEvent } from "../../shared/contracts/revocation.ts";
import { SSF_EVENT } from "../../shared/contracts/ssf.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import {
  type AccessTokenClaims,
  CLOCK_TOLERANCE_SECONDS,
  MAX_ACCESS_TOKEN_TTL_SECONDS,
} from "../../shared/contracts/tokens.ts";
import { isTokenRevoked } from "../../shared/revocation/is-token-revoked.ts";
import { GRANT_RECORDING_SLACK_SECONDS } from "../../workers/token/src/revocations/grant-revocation.ts";
import { adminRequest, expectHttpError } from "./admin-fixtures.ts";
import { clientToken } from "./clients-fixtures.ts";
import { expectOAuthError } from "./fixtures.ts";
import { approve, fileRequest, type GrantView, operatorToken, setup } from "./mcp-access-fixtures.ts";
import { introspected } from "./revocation-fixtures.ts";
import { createStream, poll, receiverToken, registerReceiver, revokeInOrg } from "./ssf-fixtures.ts";
import {
  delegationParams,
  exchange,
  grantDelegation,
  issued,
  orgWithAgent,
  userToken,
} from "./token-exchange-fixtures.ts";

interface DelegationGrantView {
  id: string;
  status: "active" | "revoked";
  revoked_at: string | null;
}

let operator: string;
beforeAll(async () => {
  operator = await operatorToken();
});

const INACTIVE = { active: false };

/** Longer than the org's object records (a revocation value is 1..256 characters). */
const unrecordable = (id: string) => `${id}${"0".repeat(300)}`;

async function grantEntries(orgId: string): Promise<string[]> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return snapshot.entries.filter((entry) => entry.kind === "grant").map((entry) => entry.value);
}

/** The grant's events in the org's log: what subscribers, gateway channels and SSF receivers are sent. */
async function grantEvents(orgId: string, grantId: string): Promise<RevocationLogEvent[]> {
  const changes = await env.ORG_STATE.getByName(orgStateName(orgId)).changesSince(0);
  if (changes.kind !== "changes") throw new Error(`the org's log answered ${changes.kind}`);
  return changes.events.filter((event) => event.kind === "grant" && event.value === grantId);
}

/** Each recorded with the slack: it lives that much past the longest token lifetime and the clock tolerance. */
function expectSlack(events: RevocationLogEvent[]): void {
  for (const event of events) {
    expect(event.expires_at - event.revoked_at).toBe(
      MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS + GRANT_RECORDING_SLACK_SECONDS,
    );
  }
}

/**
 * The grant's entry outlives every token of it: D1 marked it revoked before
 * the answer (`answeredAt`, ms, read after it), so a mint that read the
 * grant active has an `iat` no later (mint/mint-access-token.ts), and its
 * token is accepted until at most that plus the longest lifetime and the
 * clock tolerance.
 */
async function expectOutlivesEveryToken(orgId: string, grantId: string, answeredAt: number): Promise<void> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  const entry = snapshot.entries.find((e) => e.kind === "grant" && e.value === grantId);
  const lastAccepted = Math.floor(answeredAt / 1000) + MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS;
  expect(entry?.expiresAt).toBeGreaterThanOrEqual(lastAccepted);
}

/** Whether the gateway's rules (the same function its view follows) refuse the token from the object's state. */
async function refusedByGatewayRules(orgId: string, token: string): Promise<boolean> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return isTokenRevoked(snapshot, decodeJwt(token) as unknown as AccessTokenClaims);
}

/** A person's delegation grant to an agent, and a token the agent got under it by token exchange (RFC 8693). */
async function delegatedWorld() {
  const { orgId, userId, agent } = await orgWithAgent();
  const grant = await grantDelegation(orgId, userId, agent);
  const attempt = async () =>
    exchange(agent, delegationParams(await userToken(orgId, userId), await clientToken(agent)));
  const delegated = (await issued(await attempt())).body.access_token;
  expect(decodeJwt(delegated).grant_id).toBe(grant.id);
  expect(await introspected(delegated, agent)).toMatchObject({ active: true });
  return { orgId, agent, grant, delegated, attempt };
}

const delegationPath = (orgId: string, id: string) => `/orgs/${orgId}/delegation-grants/${id}`;

async function delegationGrantRow(id: string): Promise<{ status: string; revoked_at: number | null } | null> {
  return env.DB.prepare("SELECT status, revoked_at FROM delegation_grant WHERE id = ?")
    .bind(id)
    .first<{ status: string; revoked_at: number | null }>();
}

const renameDelegationGrant = (from: string, to: string) =>
  env.DB.prepare("UPDATE delegation_grant SET id = ? WHERE id = ?").bind(to, from).run();

/** D1 refuses to update this one row until the returned function is called. */
async function refuseUpdates(table: "delegation_grant" | "mcp_grant", id: string): Promise<() => Promise<void>> {
  const trigger = `refuse_${crypto.randomUUID().replaceAll("-", "")}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${trigger} BEFORE UPDATE ON ${table} WHEN OLD.id = '${id}'
     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
  ).run();
  return async () => {
    await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
  };
}

describe("revoking a delegation grant: the cut-off is recorded before D1 says revoked", () => {
  it("one revocation is one event: the org's log and an SSF receiver's stream carry one for it, its entry living the slack longer", async () => {
    const { orgId, agent, grant, delegated, attempt } = await delegatedWorld();
    const receiver = await receiverToken(await registerReceiver(orgId));
    const streamId = await createStream(receiver, {
      events_requested: [SSF_EVENT.tokensRevoked, SSF_EVENT.sessionRevoked],
    });

    const revoked = await adminRequest("DELETE", delegationPath(orgId, grant.id), { token: operator });
    expect(revoked.status).toBe(200);
    const answeredAt = Date.now();
    expect((await revoked.json()) as DelegationGrantView).toMatchObject({ id: grant.id, status: "revoked" });
    const events = await grantEvents(orgId, grant.id);
    expect(events).toHaveLength(1);
    expectSlack(events);
    await expectOutlivesEveryToken(orgId, grant.id, answeredAt);
    expect(await introspected(delegated, agent)).toEqual(INACTIVE);
    expect(await refusedByGatewayRules(orgId, delegated)).toBe(true);
    await expectOAuthError(await attempt(), 400, "invalid_request");

    // A later revocation reaches the stream after every earlier one (seq order): once it is in, so is all of the grant's.
    await revokeInOrg(orgId, "session", "after-the-grant");
    const sets = new Map<string, Record<string, unknown>>();
    await expect
      .poll(async () => {
        for (const [jti, set] of Object.entries((await poll(receiver, streamId)).sets)) sets.set(jti, decodeJwt(set));
        return [...sets.values()].some((set) => SSF_EVENT.sessionRevoked in (set.events as object));
      })
      .toBe(true);
    const aboutTheGrant = [...sets.values()].filter(
      (set) =>
        SSF_EVENT.tokensRevoked in (set.events as object) &&
        (set.sub_id as { id?: string } | undefined)?.id === grant.id,
    );
    expect(aboutTheGrant).toHaveLength(1);
  });

  it("the object refuses: 503 temporarily_unavailable with the grant still active in D1; the retry records it, and the token minted under it is refused", async () => {
    const { orgId, agent, grant, delegated, attempt } = await delegatedWorld();
    const unrecordableId = unrecordable(grant.id);
    await renameDelegationGrant(grant.id, unrecordableId);
    await expectHttpError(
      await adminRequest("DELETE", delegationPath(orgId, unrecordableId), { token: operator }),
      503,
      "temporarily_unavailable",
    );
    // Nothing says revoked: the grant is active, as the object's state is.
    expect(await delegationGrantRow(unrecordableId)).toEqual({ status: "active", revoked_at: null });
    expect(await grantEntries(orgId)).toEqual([]);

    await renameDelegationGrant(unrecordableId, grant.id);
    // The grant honoured again until the operator's retry: the 503 promised nothing.
    expect((await attempt()).status).toBe(200);
    const retried = await adminRequest("DELETE", delegationPath(orgId, grant.id), { token: operator });
    expect(retried.status).toBe(200);
    const answeredAt = Date.now();
    expect((await retried.json()) as DelegationGrantView).toMatchObject({ id: grant.id, status: "revoked" });
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    // The refused attempt logged nothing; the retry, one event.
    const events = await grantEvents(orgId, grant.id);
    expect(events).toHaveLength(1);
    expectSlack(events);
    await expectOutlivesEveryToken(orgId, grant.id, answeredAt);
    expect(await introspected(delegated, agent)).toEqual(INACTIVE);
    expect(await refusedByGatewayRules(orgId, delegated)).toBe(true);
    await expectOAuthError(await attempt(), 400, "invalid_request");
  });

  it("D1 fails after the object has it: 503 temporarily_unavailable, the tokens already refused (fails closed); the retry marks it revoked", async () => {
    const { orgId, agent, grant, delegated } = await delegatedWorld();
    const allow = await refuseUpdates("delegation_grant", grant.id);
    try {
      await expectHttpError(
        await adminRequest("DELETE", delegationPath(orgId, grant.id), { token: operator }),
        503,
        "temporarily_unavailable",
      );
    } finally {
      await allow();
    }
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    expect(await grantEvents(orgId, grant.id)).toHaveLength(1);
    expect(await introspected(delegated, agent)).toEqual(INACTIVE);
    expect((await delegationGrantRow(grant.id))?.status).toBe("active");

    const retried = await adminRequest("DELETE", delegationPath(orgId, grant.id), { token: operator });
    expect(retried.status).toBe(200);
    const answeredAt = Date.now();
    expect((await retried.json()) as DelegationGrantView).toMatchObject({
      status: "revoked",
      revoked_at: expect.any(String),
    });
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    // The retry records again (its own one event), so the two calls logged two.
    const events = await grantEvents(orgId, grant.id);
    expect(events).toHaveLength(2);
    expectSlack(events);
    await expectOutlivesEveryToken(orgId, grant.id, answeredAt);
  });

  it("a grant D1 already says is revoked (as the old order left one after a 503) is recorded by the retry, which keeps the first revoked_at", async () => {
    const { orgId, agent, grant, delegated } = await delegatedWorld();
    const revokedAt = Date.now() - 60_000;
    await env.DB.prepare("UPDATE delegation_grant SET status = 'revoked', revoked_at = ? WHERE id = ?")
      .bind(revokedAt, grant.id)
      .run();
    expect(await grantEntries(orgId)).toEqual([]);
    expect(await introspected(delegated, agent)).toMatchObject({ active: true });

    const retried = await adminRequest("DELETE", delegationPath(orgId, grant.id), { token: operator });
    expect(retried.status).toBe(200);
    expect((await retried.json()) as DelegationGrantView).toMatchObject({
      status: "revoked",
      revoked_at: new Date(revokedAt).toISOString(),
    });
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    // D1 changed before the retry began: its one recording outlives every token of the grant.
    const events = await grantEvents(orgId, grant.id);
    expect(events).toHaveLength(1);
    expectSlack(events);
    expect(await introspected(delegated, agent)).toEqual(INACTIVE);
  });

  it("two DELETEs of the same grant fired at once: both 200 with one revoked_at, the cut-off recorded, never a 500", async () => {
    const { orgId, agent, grant, delegated } = await delegatedWorld();
    const responses = await Promise.all(
      [0, 1].map(() => adminRequest("DELETE", delegationPath(orgId, grant.id), { token: operator })),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    const views = (await Promise.all(responses.map((response) => response.json()))) as DelegationGrantView[];
    expect(views.map((view) => view.status)).toEqual(["revoked", "revoked"]);
    const answeredAt = Date.now();
    expect(views[0]?.revoked_at).toBe(views[1]?.revoked_at);
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    // Each call records once, first; neither again.
    const events = await grantEvents(orgId, grant.id);
    expect(events).toHaveLength(2);
    expectSlack(events);
    await expectOutlivesEveryToken(orgId, grant.id, answeredAt);
    expect(await introspected(delegated, agent)).toEqual(INACTIVE);
    expect(await refusedByGatewayRules(orgId, delegated)).toBe(true);
  });
});

interface ReceiverLog {
  received: { body: string }[];
}

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

describe("revoking an MCP grant: the cut-off is recorded before D1, the audit trail or the webhook says revoked", () => {
  it("the object refuses: 503 with the grant live, unannounced and unaudited; the retry records it and announces it once", async () => {
    const { orgId, agent, token, name, grant } = await mcpWorld();
    const unrecordableId = unrecordable(grant.id);
    const renameGrant = (from: string, to: string) =>
      env.DB.prepare("UPDATE mcp_grant SET id = ? WHERE id = ?").bind(to, from).run();
    await renameGrant(grant.id, unrecordableId);
    await expectHttpError(
      await adminRequest("DELETE", mcpGrantPath(orgId, unrecordableId), { token: operator }),
      503,
      "temporarily_unavailable",
    );
    await renameGrant(unrecordableId, grant.id);
    // Still the grant the gateway honours, and nobody was told otherwise: a later event arrives with nothing before it.
    expect((await liveGrants(orgId, agent.clientId)).map((live) => live.id)).toEqual([grant.id]);
    expect(await grantEntries(orgId)).toEqual([]);
    await fileRequest(token);
    await expect
      .poll(() => webhookEvents(name))
      .toEqual(["access_request.created", "access_request.approved", "access_request.created"]);
    expect(await grantRevokedAudits(orgId, grant.id)).toEqual([]);

    const retried = await adminRequest("DELETE", mcpGrantPath(orgId, grant.id), { token: operator });
    expect(retried.status).toBe(200);
    const answeredAt = Date.now();
    expect((await retried.json()) as GrantView).toMatchObject({ id: grant.id, status: "revoked" });
    expect(await liveGrants(orgId, agent.clientId)).toEqual([]);
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    const events = await grantEvents(orgId, grant.id);
    expect(events).toHaveLength(1);
    expectSlack(events);
    await expectOutlivesEveryToken(orgId, grant.id, answeredAt);
    await expect
      .poll(() => webhookEvents(name))
      .toEqual(["access_request.created", "access_request.approved", "access_request.created", "grant.revoked"]);
    await expect.poll(() => grantRevokedAudits(orgId, grant.id)).toEqual([grant.id]);
  });

  it("D1 fails after the object has it: 503, the entry recorded, nothing announced; the retry marks it and announces it once", async () => {
    const { orgId, agent, token, name, grant } = await mcpWorld();
    const allow = await refuseUpdates("mcp_grant", grant.id);
    try {
      await expectHttpError(
        await adminRequest("DELETE", mcpGrantPath(orgId, grant.id), { token: operator }),
        503,
        "temporarily_unavailable",
      );
    } finally {
      await allow();
    }
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    expect(await grantEvents(orgId, grant.id)).toHaveLength(1);
    await fileRequest(token);
    await expect
      .poll(() => webhookEvents(name))
      .toEqual(["access_request.created", "access_request.approved", "access_request.created"]);
    expect(await grantRevokedAudits(orgId, grant.id)).toEqual([]);

    const retried = await adminRequest("DELETE", mcpGrantPath(orgId, grant.id), { token: operator });
    expect(retried.status).toBe(200);
    const answeredAt = Date.now();
    expect(await liveGrants(orgId, agent.clientId)).toEqual([]);
    // The retry records again, first: one event more.
    const events = await grantEvents(orgId, grant.id);
    expect(events).toHaveLength(2);
    expectSlack(events);
    await expectOutlivesEveryToken(orgId, grant.id, answeredAt);
    await expect
      .poll(() => webhookEvents(name))
      .toEqual(["access_request.created", "access_request.approved", "access_request.created", "grant.revoked"]);
    await expect.poll(() => grantRevokedAudits(orgId, grant.id)).toEqual([grant.id]);
  });

  it("two DELETEs of the same grant fired at once: both 200 with one revoked_at, recorded, announced and audited once", async () => {
    const { orgId, agent, token, name, grant } = await mcpWorld();
    const responses = await Promise.all(
      [0, 1].map(() => adminRequest("DELETE", mcpGrantPath(orgId, grant.id), { token: operator })),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    const views = (await Promise.all(responses.map((response) => response.json()))) as GrantView[];
    expect(views.map((view) => view.status)).toEqual(["revoked", "revoked"]);
    const answeredAt = Date.now();
    expect(views[0]?.revoked_at).toBe(views[1]?.revoked_at);
    expect(await liveGrants(orgId, agent.clientId)).toEqual([]);
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    // Each call records once, first; neither again.
    const events = await grantEvents(orgId, grant.id);
    expect(events).toHaveLength(2);
    expectSlack(events);
    await expectOutlivesEveryToken(orgId, grant.id, answeredAt);
    // Exactly one grant.revoked among the events, a later one's included (the order of two deliveries in flight is theirs).
    await fileRequest(token);
    await expect
      .poll(async () => (await webhookEvents(name)).sort())
      .toEqual(["access_request.approved", "access_request.created", "access_request.created", "grant.revoked"]);
    await expect.poll(() => grantRevokedAudits(orgId, grant.id)).toEqual([grant.id]);
  });
});
