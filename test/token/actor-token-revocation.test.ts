// The actor token of an exchange (RFC 8693 §2.1: the agent's own access
// token) is an ancestor of what the exchange issues: revoking it by `jti`
// (RFC 7009 by the agent's client, or an operator's revoke-by-jti) ends the
// delegated tokens and ID-JAGs the agent obtained with it (RFC 7009 §2.1
// MAY: they were "based on" it), and nothing the person holds otherwise.
// The gateway's side: test/gateway/actor-token-revocation.test.ts.
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import {
  ID_JAG_DERIVED_FROM_CLAIM,
  MAX_DELEGATION_DEPTH,
  MAX_DERIVED_FROM_LENGTH,
  TOKEN_TYPE,
} from "../../shared/contracts/tokens.ts";
import { adminRequest, adminToken } from "./admin-fixtures.ts";
import { clientToken, setOrgPolicy, type TestClient } from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError } from "./fixtures.ts";
import { delegatedIdJag, redeem } from "./id-jag-fixtures.ts";
import { introspected, revoke } from "./revocation-fixtures.ts";
import {
  delegationParams,
  exchange,
  grantDelegation,
  issued,
  orgWithAgent,
  registerAgent,
  userToken,
} from "./token-exchange-fixtures.ts";

const INACTIVE = { active: false };
const ACTIVE = { active: true };

/** `client` narrows its own token (no actor): the same subject and client, one more link of ancestry. */
async function narrow(client: TestClient, token: string): Promise<string> {
  return (await issued(await exchange(client, { subject_token: token, subject_token_type: TOKEN_TYPE.accessToken })))
    .body.access_token;
}

async function narrowed(client: TestClient, token: string, times: number): Promise<string> {
  for (let made = 0; made < times; made++) token = await narrow(client, token);
  return token;
}

function ancestor(token: string) {
  const { jti, client_id, iat } = decodeJwt(token);
  return { jti, client_id, iat };
}

async function delegate(agent: TestClient, subject: string, actor: string): Promise<Response> {
  return exchange(agent, delegationParams(subject, actor));
}

/**
 * A person's token T_u (at the agent), the agent's own token T_a, D
 * exchanged from T_u with T_a as actor, and D2 from the same T_u with the
 * agent's other token T_a2; plus the person's other token at the agent.
 */
async function delegation() {
  const { orgId, userId, agent } = await orgWithAgent();
  await grantDelegation(orgId, userId, agent);
  const tU = await userToken(orgId, userId, { clientId: agent.clientId });
  const [tA, tA2] = [await clientToken(agent), await clientToken(agent)];
  const d = (await issued(await delegate(agent, tU, tA))).body.access_token;
  const d2 = (await issued(await delegate(agent, tU, tA2))).body.access_token;
  const other = await userToken(orgId, userId, { clientId: agent.clientId });
  return { orgId, agent, tU, tA, tA2, d, d2, other };
}

const operatorRevokesJti = async (orgId: string, jti: string) =>
  adminRequest("POST", `/orgs/${orgId}/revocations`, {
    token: await adminToken(),
    body: { kind: "jti", value: jti, reason: "agent credential stolen" },
  });

describe("the actor token is an ancestor of what it obtained (derived_from)", () => {
  it("is named before the subject token's lineage, each jti once", async () => {
    const { agent, tU, tA, d } = await delegation();
    expect(decodeJwt(d).derived_from).toEqual([ancestor(tA), ancestor(tU)]);
    // The same actor again, on D (the agent acting on its own delegated token, act depth 2): T_a once.
    const again = (await issued(await delegate(agent, d, tA))).body.access_token;
    expect(decodeJwt(again).derived_from).toEqual([ancestor(tA), ancestor(tU), ancestor(d)]);
    // An actor token that is itself a narrowing of the agent's token brings its ancestry along.
    const narrowActor = await narrow(agent, tA);
    const fromNarrow = (await issued(await delegate(agent, tU, narrowActor))).body.access_token;
    expect(decodeJwt(fromNarrow).derived_from).toEqual([ancestor(tA), ancestor(narrowActor), ancestor(tU)]);
  });

  it("ends D when the agent revokes T_a by RFC 7009; T_u, its other tokens and D2 stay", async () => {
    const { agent, tU, tA, d, d2, other } = await delegation();
    expect(await introspected(d, agent)).toMatchObject(ACTIVE);
    expect((await revoke(tA, agent)).status).toBe(200);
    expect(await introspected(tA, agent)).toEqual(INACTIVE);
    expect(await introspected(d, agent)).toEqual(INACTIVE);
    // RFC 8693 §2.2.2: a revoked subject token is invalid_request; nothing more is made from D.
    await expectOAuthError(
      await exchange(agent, { subject_token: d, subject_token_type: TOKEN_TYPE.accessToken }),
      400,
      "invalid_request",
    );
    for (const token of [tU, d2, other]) expect(await introspected(token, agent)).toMatchObject(ACTIVE);
  });

  it("ends D when an operator revokes T_a by jti; T_u, its other tokens and D2 stay", async () => {
    const { orgId, agent, tU, tA, d, d2, other } = await delegation();
    expect((await operatorRevokesJti(orgId, decodeJwt(tA).jti as string)).status).toBe(201);
    expect(await introspected(d, agent)).toEqual(INACTIVE);
    for (const token of [tU, d2, other]) expect(await introspected(token, agent)).toMatchObject(ACTIVE);
  });

  it("ends an ID-JAG obtained with T_a and what it was redeemed for", async () => {
    const { orgId, agent, tU, tA2, d } = await delegation();
    const params = { resource: AUDIENCE, scope: "documents:read" };
    // delegatedIdJag presents a fresh token of the agent's as actor: that one is the ancestor here.
    const jag = await delegatedIdJag(agent, tU, params);
    const [actor] = decodeJwt(jag.access_token)[ID_JAG_DERIVED_FROM_CLAIM] as { jti: string }[];
    const anAgentToken = { jti: expect.any(String), client_id: agent.clientId, iat: expect.any(Number) };
    expect(decodeJwt(jag.access_token)[ID_JAG_DERIVED_FROM_CLAIM]).toEqual([anAgentToken, ancestor(tU)]);
    const redeemed = (await issued(await redeem(agent, jag.access_token))).body.access_token;
    expect(decodeJwt(redeemed).derived_from).toEqual(decodeJwt(jag.access_token)[ID_JAG_DERIVED_FROM_CLAIM]);
    const unredeemed = (await delegatedIdJag(agent, tU, params)).access_token;
    const unredeemedActor = (decodeJwt(unredeemed)[ID_JAG_DERIVED_FROM_CLAIM] as { jti: string }[])[0];

    expect((await operatorRevokesJti(orgId, actor?.jti as string)).status).toBe(201);
    expect((await operatorRevokesJti(orgId, unredeemedActor?.jti as string)).status).toBe(201);
    expect(await introspected(redeemed, agent)).toEqual(INACTIVE);
    // RFC 7521 §4.1.1: an assertion whose ancestor is revoked is invalid_grant.
    await expectOAuthError(await redeem(agent, unredeemed), 400, "invalid_grant");
    for (const token of [tU, tA2, d]) expect(await introspected(token, agent)).toMatchObject(ACTIVE);
  });

  it(`refuses an exchange whose subject and actor together were derived through more than ${MAX_DERIVED_FROM_LENGTH}`, async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await grantDelegation(orgId, userId, agent);
    // Subject: T_u and its narrowings; actor: T_a and as many: half the list each, the most allowed in all.
    const half = MAX_DERIVED_FROM_LENGTH / 2;
    const subject = await narrowed(agent, await userToken(orgId, userId, { clientId: agent.clientId }), half - 1);
    const actor = await narrowed(agent, await clientToken(agent), half - 1);
    const atCap = (await issued(await delegate(agent, subject, actor))).body.access_token;
    expect((decodeJwt(atCap).derived_from as unknown[]).length).toBe(MAX_DERIVED_FROM_LENGTH);
    // One more link on the actor's side: one past the list, though each alone is under it (RFC 8693 §2.2.2).
    const together = await expectOAuthError(
      await delegate(agent, subject, await narrow(agent, actor)),
      400,
      "invalid_request",
    );
    expect(together.error_description).toBe(
      `the subject_token and actor_token were derived through more than ${MAX_DERIVED_FROM_LENGTH} tokens together; present tokens nearer their origin`,
    );
    // A subject token too deep alone keeps its own answer, whatever the actor.
    const deepSubject = await narrowed(agent, subject, MAX_DERIVED_FROM_LENGTH - (half - 1));
    const alone = await expectOAuthError(
      await delegate(agent, deepSubject, await clientToken(agent)),
      400,
      "invalid_request",
    );
    expect(alone.error_description).toBe(
      `the subject_token was derived through ${MAX_DERIVED_FROM_LENGTH} tokens already; exchange one nearer its origin`,
    );
  });
  it("lets a chain of distinct agents reach the org's deepest max_delegation_depth, and refuses it one deeper", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await setOrgPolicy(orgId, { maxDelegationDepth: MAX_DELEGATION_DEPTH });
    const others = await Promise.all(Array.from({ length: MAX_DELEGATION_DEPTH }, () => registerAgent(orgId)));
    const agents = [agent, ...others];
    for (const each of agents) await grantDelegation(orgId, userId, each);
    // Each link names its subject token and its agent's own token: 2, 4, … MAX_DERIVED_FROM_LENGTH.
    let token = await userToken(orgId, userId);
    for (const each of agents.slice(0, MAX_DELEGATION_DEPTH)) {
      token = (await issued(await delegate(each, token, await clientToken(each)))).body.access_token;
    }
    expect((decodeJwt(token).derived_from as unknown[]).length).toBe(MAX_DERIVED_FROM_LENGTH);
    // One link more is the org's policy to refuse (RFC 8693 §2.2.2), before the list's own bound.
    const last = agents[MAX_DELEGATION_DEPTH] as TestClient;
    const refused = await expectOAuthError(
      await delegate(last, token, await clientToken(last)),
      400,
      "invalid_request",
    );
    expect(refused.error_description).toBe(`delegation chain longer than the org allows (${MAX_DELEGATION_DEPTH})`);
  });
});
