import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ID_JAG_NOT_AFTER_CLAIM, JWT_TYP, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { clientToken, createTestOrg, mintedToken, type TestClient } from "./clients-fixtures.ts";
import { expectOAuthError, signWithOurKey } from "./fixtures.ts";
import { ISSUER, jagClaims, redeem } from "./id-jag-fixtures.ts";
import {
  delegationParams,
  exchange,
  grantDelegation,
  issued,
  registerAgent,
  seedMember,
  userToken,
} from "./token-exchange-fixtures.ts";

describe("a round trip through an ID-JAG of ours never outlives the tokens it was made from", () => {
  /** Exchanges `params` for an ID-JAG for our own issuer and redeems it: both, decoded. */
  async function roundTrip(agent: TestClient, params: Record<string, string>) {
    const { body } = await issued(
      await exchange(agent, { ...params, requested_token_type: TOKEN_TYPE.idJag, audience: ISSUER }),
    );
    const { body: redeemed, claims } = await issued(await redeem(agent, body.access_token));
    return { idJag: decodeJwt(body.access_token), redeemed, claims };
  }

  it("the client's own 20 s token: the redeemed token ends with it, not a full TTL later", async () => {
    const orgId = await createTestOrg();
    const agent = await registerAgent(orgId);
    const subject = await mintedToken(agent, { ttlSeconds: 20 });
    const subjectExp = decodeJwt(subject).exp as number;
    const { idJag, redeemed, claims } = await roundTrip(agent, {
      subject_token: subject,
      subject_token_type: TOKEN_TYPE.accessToken,
    });
    expect(idJag[ID_JAG_NOT_AFTER_CLAIM]).toBe(subjectExp);
    expect(claims.exp as number).toBeLessThanOrEqual(subjectExp);
    expect(redeemed.expires_in).toBeLessThanOrEqual(20);
  });

  it("a person's 20 s session token, delegated to an agent: the redeemed token ends with it", async () => {
    const orgId = await createTestOrg();
    const userId = await seedMember(orgId);
    const agent = await registerAgent(orgId);
    await grantDelegation(orgId, userId, agent);
    const subject = await userToken(orgId, userId, { sessionId: `s-${crypto.randomUUID()}`, ttlSeconds: 20 });
    const subjectExp = decodeJwt(subject).exp as number;
    const { claims } = await roundTrip(agent, delegationParams(subject, await clientToken(agent)));
    expect(claims).toMatchObject({ sub: userId, act: { sub: agent.clientId } });
    expect(claims.exp as number).toBeLessThanOrEqual(subjectExp);
  });

  it("an ID-JAG of ours without the limit (signed before it existed) buys no more than its own exp", async () => {
    const orgId = await createTestOrg();
    const userId = await seedMember(orgId);
    const agent = await registerAgent(orgId);
    const grant = jagClaims(orgId, userId, agent.clientId);
    const { claims } = await issued(await redeem(agent, await signWithOurKey(JWT_TYP.idJag, grant)));
    expect(claims.exp as number).toBeLessThanOrEqual(grant.exp);
  });

  it("invalid_grant for a limit that is not a number, and for one already past", async () => {
    const orgId = await createTestOrg();
    const userId = await seedMember(orgId);
    const agent = await registerAgent(orgId);
    const now = Math.floor(Date.now() / 1000);
    for (const limit of [String(now + 60), now - 1]) {
      const assertion = await signWithOurKey(
        JWT_TYP.idJag,
        jagClaims(orgId, userId, agent.clientId, { [ID_JAG_NOT_AFTER_CLAIM]: limit }),
      );
      await expectOAuthError(await redeem(agent, assertion), 400, "invalid_grant");
    }
  });
});
