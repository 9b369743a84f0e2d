// Revoking a token by `jti` ends every token derived from it (RFC 7009 §2.1
// MAY, which the operator revoking a stolen token expects): tokens exchanged
// from it (RFC 8693, with or without `act`), tokens exchanged from those,
// ID-JAGs minted from them and what those are redeemed for. Each carries
// `derived_from` (shared/revocation/derived-from.ts), read by the org's
// object at introspection and exchange; the gateway's view follows the same
// rule (test/gateway/derived-token-revocation.test.ts).
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { MAX_DERIVED_FROM_LENGTH, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { adminRequest, adminToken } from "./admin-fixtures.ts";
import { clientToken, type TestClient } from "./clients-fixtures.ts";
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

/** `client` narrows its own token (no actor): the same subject and client, a narrower token. */
async function narrow(client: TestClient, token: string): Promise<string> {
  return (await issued(await exchange(client, { subject_token: token, subject_token_type: TOKEN_TYPE.accessToken })))
    .body.access_token;
}

function ancestor(token: string) {
  const { jti, client_id, iat } = decodeJwt(token);
  return { jti, client_id, iat };
}

/**
 * A person's token issued to agent A (so A may revoke it, RFC 7009 §2.1),
 * A's narrowing of it, agent B acting for the person on that (B→C, with
 * `act`), and an ID-JAG B took from the narrowing, with what one such
 * grant was redeemed for; plus the same person's unrelated token at A.
 */
async function lineage() {
  const { orgId, userId, agent: a } = await orgWithAgent();
  const b = await registerAgent(orgId);
  await grantDelegation(orgId, userId, b);
  const root = await userToken(orgId, userId, { clientId: a.clientId });
  const narrowed = await narrow(a, root);
  const actor = await clientToken(b);
  const delegated = (await issued(await exchange(b, delegationParams(narrowed, actor)))).body.access_token;
  const jagParams = { resource: AUDIENCE, scope: "documents:read" };
  const redeemed = (await issued(await redeem(b, (await delegatedIdJag(b, narrowed, jagParams)).access_token))).body
    .access_token;
  const unredeemedJag = (await delegatedIdJag(b, narrowed, jagParams)).access_token;
  const unrelated = await narrow(a, await userToken(orgId, userId, { clientId: a.clientId }));
  return { orgId, a, b, actor, root, narrowed, delegated, redeemed, unredeemedJag, unrelated };
}

describe("tokens derived from a revoked token (derived_from)", () => {
  it("name every token they were derived from, nearest last", async () => {
    const { b, actor, root, narrowed, delegated, redeemed } = await lineage();
    expect(decodeJwt(root).derived_from).toBeUndefined();
    expect(decodeJwt(narrowed).derived_from).toEqual([ancestor(root)]);
    // The actor token first (test/token/actor-token-revocation.test.ts), then the subject token's lineage.
    expect(decodeJwt(delegated).derived_from).toEqual([ancestor(actor), ancestor(root), ancestor(narrowed)]);
    // Through an ID-JAG of ours: what the exchange would have named (the grant itself is single use), its
    // actor a fresh token of B's (id-jag-fixtures.ts delegatedIdJag).
    const anActor = { jti: expect.any(String), client_id: b.clientId, iat: expect.any(Number) };
    expect(decodeJwt(redeemed).derived_from).toEqual([anActor, ancestor(root), ancestor(narrowed)]);
  });

  it("are inactive and exchange nothing once their root is revoked by RFC 7009; unrelated tokens stay", async () => {
    const { a, b, root, narrowed, delegated, redeemed, unredeemedJag, unrelated } = await lineage();
    expect(await introspected(delegated, b)).toMatchObject({ active: true });

    expect((await revoke(root, a)).status).toBe(200);
    expect(await introspected(root, a)).toEqual(INACTIVE);
    expect(await introspected(narrowed, a)).toEqual(INACTIVE);
    expect(await introspected(delegated, b)).toEqual(INACTIVE);
    expect(await introspected(redeemed, b)).toEqual(INACTIVE);
    // Nothing more is made from them: neither an exchange nor the ID-JAG minted before the revocation.
    // RFC 8693 §2.2.2: a revoked subject token is invalid_request; RFC 7521 §4.1.1: a revoked assertion invalid_grant.
    await expectOAuthError(
      await exchange(b, { subject_token: delegated, subject_token_type: TOKEN_TYPE.accessToken }),
      400,
      "invalid_request",
    );
    await expectOAuthError(await redeem(b, unredeemedJag), 400, "invalid_grant");
    // The same person's token at the same client, derived from another root, is untouched.
    expect(await introspected(unrelated, a)).toMatchObject({ active: true });
  });

  it("end with an operator's revoke-by-jti of a link, and only from that link on", async () => {
    const { orgId, a, b, root, narrowed, delegated } = await lineage();
    const response = await adminRequest("POST", `/orgs/${orgId}/revocations`, {
      token: await adminToken(),
      body: { kind: "jti", value: decodeJwt(narrowed).jti, reason: "stolen" },
    });
    expect(response.status).toBe(201);
    expect(await introspected(narrowed, a)).toEqual(INACTIVE);
    expect(await introspected(delegated, b)).toEqual(INACTIVE);
    // What it was derived from is not what was derived from it.
    expect(await introspected(root, a)).toMatchObject({ active: true });
  });

  it(`are made through at most ${MAX_DERIVED_FROM_LENGTH} tokens, so the token and every check stay small`, async () => {
    const { orgId, userId, agent: a } = await orgWithAgent();
    let token = await userToken(orgId, userId, { clientId: a.clientId });
    for (let made = 0; made < MAX_DERIVED_FROM_LENGTH; made++) token = await narrow(a, token);
    expect((decodeJwt(token).derived_from as unknown[]).length).toBe(MAX_DERIVED_FROM_LENGTH);
    // Well under the gateway's Authorization cap (8 KiB; test/gateway/largest-token.test.ts) with every ancestor named.
    expect(token.length).toBeLessThan(4096);
    // RFC 8693 §2.2.2: a subject token unacceptable by policy.
    await expectOAuthError(
      await exchange(a, { subject_token: token, subject_token_type: TOKEN_TYPE.accessToken }),
      400,
      "invalid_request",
    );
  });
});
