// Revoking a delegation grant (admin DELETE /orgs/{org}/delegation-grants/{id})
// records the `grant` revocation in the org's Durable Object FIRST and only
// then marks D1 (workers/token/src/revocations/grant-revocation.ts). Before,
// D1 was marked first: a 503 from the object left the grant `revoked` in
// every list, the audit trail and the `grant.revoked` webhook while the
// tokens minted under it (`grant_id`) kept passing until they expired, unless
// the operator happened to retry. The recording asks for
// GRANT_RECORDING_SLACK_SECONDS more life, so the one entry outlives a token
// minted in flight while D1 marks it, and a revocation is one event in the
// org's log (what WebSocket subscribers, gateway channels and SSF receivers
// are sent), not two; a D1 mark slower than the slack is covered by a second
// recording (test/token/grant-revocation-second-recording.test.ts). An MCP
// grant's revocation takes the same path: test/token/mcp-grant-recorded-first.test.ts.
// How the object and D1 are made to refuse: grant-revocation-fixtures.ts.
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { SSF_EVENT } from "../../shared/contracts/ssf.ts";
import { expectOAuthError } from "./fixtures.ts";
import {
  delegatedWorld,
  expectRecordedWithSlack,
  expectUnavailable,
  expectUnavailableWhileD1Refuses,
  grantEntries,
  grantEvents,
  INACTIVE,
  refusedByGatewayRules,
  renameGrant,
  revokedOk,
  revokedTwiceAtOnce,
  unrecordable,
} from "./grant-revocation-fixtures.ts";
import { operatorToken } from "./mcp-access-fixtures.ts";
import { introspected } from "./revocation-fixtures.ts";
import { createStream, poll, receiverToken, registerReceiver, revokeInOrg } from "./ssf-fixtures.ts";

interface DelegationGrantView {
  id: string;
  status: "active" | "revoked";
  revoked_at: string | null;
}

let operator: string;
beforeAll(async () => {
  operator = await operatorToken();
});

const delegationPath = (orgId: string, id: string) => `/orgs/${orgId}/delegation-grants/${id}`;

async function delegationGrantRow(id: string): Promise<{ status: string; revoked_at: number | null } | null> {
  return env.DB.prepare("SELECT status, revoked_at FROM delegation_grant WHERE id = ?")
    .bind(id)
    .first<{ status: string; revoked_at: number | null }>();
}

/** The token minted under the grant is refused by the token Worker and by the gateway's rules alike. */
async function expectCutOff(world: Awaited<ReturnType<typeof delegatedWorld>>): Promise<void> {
  expect(await introspected(world.delegated, world.agent)).toEqual(INACTIVE);
  expect(await refusedByGatewayRules(world.orgId, world.delegated)).toBe(true);
}

describe("revoking a delegation grant: the cut-off is recorded before D1 says revoked", () => {
  it("one revocation is one event: the org's log and an SSF receiver's stream carry one for it, its entry living the slack longer", async () => {
    const world = await delegatedWorld();
    const { orgId, grant, attempt } = world;
    const receiver = await receiverToken(await registerReceiver(orgId));
    const streamId = await createStream(receiver, {
      events_requested: [SSF_EVENT.tokensRevoked, SSF_EVENT.sessionRevoked],
    });

    const { response, answeredAt } = await revokedOk(operator, delegationPath(orgId, grant.id));
    expect((await response.json()) as DelegationGrantView).toMatchObject({ id: grant.id, status: "revoked" });
    await expectRecordedWithSlack(orgId, grant.id, 1, answeredAt);
    await expectCutOff(world);
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
    const world = await delegatedWorld();
    const { orgId, grant, attempt } = world;
    const unrecordableId = unrecordable(grant.id);
    await renameGrant("delegation_grant", grant.id, unrecordableId);
    await expectUnavailable(operator, delegationPath(orgId, unrecordableId));
    // Nothing says revoked: the grant is active, as the object's state is.
    expect(await delegationGrantRow(unrecordableId)).toEqual({ status: "active", revoked_at: null });
    expect(await grantEntries(orgId)).toEqual([]);

    await renameGrant("delegation_grant", unrecordableId, grant.id);
    // The grant honoured again until the operator's retry: the 503 promised nothing.
    expect((await attempt()).status).toBe(200);
    const { response, answeredAt } = await revokedOk(operator, delegationPath(orgId, grant.id));
    expect((await response.json()) as DelegationGrantView).toMatchObject({ id: grant.id, status: "revoked" });
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    // The refused attempt logged nothing; the retry, one event.
    await expectRecordedWithSlack(orgId, grant.id, 1, answeredAt);
    await expectCutOff(world);
    await expectOAuthError(await attempt(), 400, "invalid_request");
  });

  it("D1 fails after the object has it: 503 temporarily_unavailable, the tokens already refused (fails closed); the retry marks it revoked", async () => {
    const { orgId, agent, grant, delegated } = await delegatedWorld();
    await expectUnavailableWhileD1Refuses(operator, delegationPath(orgId, grant.id), "delegation_grant", grant.id);
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    expect(await grantEvents(orgId, grant.id)).toHaveLength(1);
    expect(await introspected(delegated, agent)).toEqual(INACTIVE);
    expect((await delegationGrantRow(grant.id))?.status).toBe("active");

    const { response, answeredAt } = await revokedOk(operator, delegationPath(orgId, grant.id));
    expect((await response.json()) as DelegationGrantView).toMatchObject({
      status: "revoked",
      revoked_at: expect.any(String),
    });
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    // The retry records again (its own one event), so the two calls logged two.
    await expectRecordedWithSlack(orgId, grant.id, 2, answeredAt);
  });

  it("a grant D1 already says is revoked (as the old order left one after a 503) is recorded by the retry, which keeps the first revoked_at", async () => {
    const { orgId, agent, grant, delegated } = await delegatedWorld();
    const revokedAt = Date.now() - 60_000;
    await env.DB.prepare("UPDATE delegation_grant SET status = 'revoked', revoked_at = ? WHERE id = ?")
      .bind(revokedAt, grant.id)
      .run();
    expect(await grantEntries(orgId)).toEqual([]);
    expect(await introspected(delegated, agent)).toMatchObject({ active: true });

    const { response } = await revokedOk(operator, delegationPath(orgId, grant.id));
    expect((await response.json()) as DelegationGrantView).toMatchObject({
      status: "revoked",
      revoked_at: new Date(revokedAt).toISOString(),
    });
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    // D1 changed before the retry began: its one recording outlives every token of the grant.
    await expectRecordedWithSlack(orgId, grant.id, 1);
    expect(await introspected(delegated, agent)).toEqual(INACTIVE);
  });

  it("two DELETEs of the same grant fired at once: both 200 with one revoked_at, the cut-off recorded, never a 500", async () => {
    const world = await delegatedWorld();
    const { orgId, grant } = world;
    const { answeredAt } = await revokedTwiceAtOnce<DelegationGrantView>(operator, delegationPath(orgId, grant.id));
    expect(await grantEntries(orgId)).toEqual([grant.id]);
    // Each call records once, first; neither again.
    await expectRecordedWithSlack(orgId, grant.id, 2, answeredAt);
    await expectCutOff(world);
  });
});
