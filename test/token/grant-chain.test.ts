// A token made from a delegated token rests on that token's grant too
// (`grant_chain`, grants/token-exchange-issue.ts): revoking the grant of any
// link cuts off every token made through it, here and at the gateway's
// rules (shared/revocation/is-token-revoked.ts).
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { type AccessTokenClaims, ID_JAG_GRANTS_CLAIM, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { isTokenRevoked } from "../../shared/revocation/is-token-revoked.ts";
import { adminRequest, adminToken } from "./admin-fixtures.ts";
import { clientToken } from "./clients-fixtures.ts";
import { expectOAuthError } from "./fixtures.ts";
import { ISSUER, redeem } from "./id-jag-fixtures.ts";
import {
  delegationParams,
  exchange,
  grantDelegation,
  issued,
  orgWithAgent,
  registerAgent,
  userToken,
} from "./token-exchange-fixtures.ts";

async function revoked(orgId: string, claims: AccessTokenClaims): Promise<boolean> {
  return isTokenRevoked(await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId), claims);
}

/** A person's grants to agents A and B, and A's token delegated from the person's. */
async function chainOfTwo() {
  const { orgId, userId, agent: a } = await orgWithAgent();
  const b = await registerAgent(orgId);
  const grantA = await grantDelegation(orgId, userId, a);
  const grantB = await grantDelegation(orgId, userId, b);
  const first = (
    await issued(await exchange(a, delegationParams(await userToken(orgId, userId), await clientToken(a))))
  ).body.access_token;
  return { orgId, b, grantA, grantB, first };
}

describe("the grants a token rests on (grant_id, grant_chain)", () => {
  it("carries the grant of the token it was made from, and is cut off when that grant is revoked", async () => {
    const { orgId, b, grantA, grantB, first } = await chainOfTwo();
    const second = await issued(await exchange(b, delegationParams(first, await clientToken(b))));
    const claims = second.claims as unknown as AccessTokenClaims;
    expect(claims.grant_id).toBe(grantB.id);
    expect(claims.grant_chain).toEqual([grantA.id]);
    expect(await revoked(orgId, claims)).toBe(false);

    // Agent A's grant ends: what B holds came through it.
    const response = await adminRequest("DELETE", `/orgs/${orgId}/delegation-grants/${grantA.id}`, {
      token: await adminToken(),
    });
    expect(response.status).toBe(200);
    expect(await revoked(orgId, claims)).toBe(true);
    // …so B cannot narrow it either: the subject token is revoked.
    const narrowed = await exchange(b, {
      subject_token: second.body.access_token,
      subject_token_type: TOKEN_TYPE.accessToken,
    });
    await expectOAuthError(narrowed, 400, "invalid_request");
  });

  it("through an ID-JAG of ours: the grant carries the grants, the redeemed token rests on them", async () => {
    const { orgId, b, grantA, grantB, first } = await chainOfTwo();
    const jag = async () =>
      (
        await issued(
          await exchange(b, {
            ...delegationParams(first, await clientToken(b)),
            requested_token_type: TOKEN_TYPE.idJag,
            audience: ISSUER,
          }),
        )
      ).body.access_token;
    const idJag = await jag();
    expect(decodeJwt(idJag)[ID_JAG_GRANTS_CLAIM]).toEqual([grantB.id, grantA.id]);
    const redeemed = await issued(await redeem(b, idJag));
    const claims = redeemed.claims as unknown as AccessTokenClaims;
    expect(claims.grant_id).toBe(grantB.id);
    expect(claims.grant_chain).toEqual([grantA.id]);

    const another = await jag();
    const response = await adminRequest("DELETE", `/orgs/${orgId}/delegation-grants/${grantA.id}`, {
      token: await adminToken(),
    });
    expect(response.status).toBe(200);
    expect(await revoked(orgId, claims)).toBe(true);
    // A grant issued before the revocation is not redeemed after it.
    await expectOAuthError(await redeem(b, another), 400, "invalid_grant");
  });

  it("names no chain when the subject token rests on no grant or on the same one", async () => {
    const { orgId, userId, agent: a } = await orgWithAgent();
    await grantDelegation(orgId, userId, a);
    const first = await issued(
      await exchange(a, delegationParams(await userToken(orgId, userId), await clientToken(a))),
    );
    expect(first.claims.grant_chain).toBeUndefined();
    const narrowed = await issued(
      await exchange(a, { subject_token: first.body.access_token, subject_token_type: TOKEN_TYPE.accessToken }),
    );
    expect(narrowed.claims.grant_id).toBe(first.claims.grant_id);
    expect(narrowed.claims.grant_chain).toBeUndefined();
  });
});
