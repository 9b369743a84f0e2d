import { env, exports } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { trustedIssuerGrantId } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { AccessTokenClaims, DerivedFrom } from "../../shared/contracts/tokens.ts";
import { isTokenRevoked } from "../../shared/revocation/is-token-revoked.ts";
import { RevocationView } from "../../workers/gateway/src/trust/revocation-view.ts";
import { memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// A token exchanged from another (RFC 8693) names it and everything it was
// derived from in `derived_from` (workers/token/src/grants/token-exchange-issue.ts);
// revoking any of them by `jti` (RFC 7009 §2.1, an operator's revoke-by-jti)
// must refuse it at the gateway as at the org's object, including once the
// ancestor's own entry was folded into its client's cut-off
// (docs/revocation.md, "Bounds"), and nothing else. A token redeemed from an
// external IdP's ID-JAG rests on the org's trust in that issuer
// (`grant_chain`), which removing the issuer revokes.

let signer: TestSigner;
beforeAll(async () => {
  signer = await testSigner();
});
beforeEach(() => signer.publish());

const now = () => Math.floor(Date.now() / 1000);
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));

type Claims = AccessTokenClaims & { roles: string[] };

/** A token of `clientId` in `org`, issued at `iat`, derived from `from` (none: a root). */
function token(org: string, clientId: string, from: readonly Claims[] = [], iat = now() - 10): Claims {
  const derived: DerivedFrom[] = from.map((t) => ({ jti: t.jti, client_id: t.client_id, iat: t.iat }));
  return memberClaims({
    org_id: org,
    client_id: clientId,
    sub: "user-1",
    sid: undefined,
    iat,
    exp: iat + 300,
    ...(derived.length ? { derived_from: derived } : {}),
  }) as Claims;
}

/** B exchanged from A by agent mac_b acting for the person, C from B by agent mac_c (RFC 8693 §4.1 chain). */
function chain(org: string) {
  const a = token(org, "mac_a");
  const b = { ...token(org, "mac_b", [a]), act: { sub: "mac_b", client_id: "mac_b" } };
  const c = { ...token(org, "mac_c", [a, b]), act: { sub: "mac_c", client_id: "mac_c", act: b.act } };
  return { a, b, c };
}

/** RFC 7009 by the token's own client, as the token Worker records it (attributed to its client and iat). */
function revokeByItsClient(claims: Claims) {
  const { jti, sub, client_id, org_id, iat } = claims;
  return stub(org_id).revokeToken({
    claims: { jti, sub, client_id, org_id, iat },
    expiresAt: claims.exp,
    byTokenClient: true,
    reason: `rfc7009 by ${client_id}`,
  });
}

async function gateway(claims: object): Promise<{ status: number; error?: string; code?: string }> {
  const response = await exports.default.fetch(
    new Request(`http://localhost:8787${ENDPOINT.documents}`, {
      headers: { Authorization: `Bearer ${await signer.sign({ ...claims })}` },
    }),
  );
  if (response.status === 200) return { status: 200 };
  const challenge = response.headers.get("WWW-Authenticate") ?? "";
  const body = (await response.json()) as { error_description?: string };
  return {
    status: response.status,
    error: /error="([^"]+)"/.exec(challenge)?.[1],
    code: body.error_description?.split(":")[0],
  };
}

const REFUSED = { status: 401, error: "invalid_token", code: "ERR_TOKEN_REVOKED" };

describe("gateway: tokens derived from a revoked token", () => {
  it("refuses B and C once A is revoked by RFC 7009, and serves a token not derived from A", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const { a, b, c } = chain(org);
    const other = token(org, "mac_b", [token(org, "mac_a")]);
    expect(await gateway(c)).toEqual({ status: 200 });
    expect(await revokeByItsClient(a)).toMatchObject({ recorded: "jti" });
    expect(await gateway(b)).toEqual(REFUSED);
    expect(await gateway(c)).toEqual(REFUSED);
    expect(await gateway(other)).toEqual({ status: 200 });
    // The object (introspection, token exchange) and the shared rule agree.
    const snapshot = await stub(org).snapshot(org);
    expect(await stub(org).areRevoked([b, c, other])).toEqual([true, true, false]);
    expect([b, c, other].map((t) => isTokenRevoked(snapshot, t))).toEqual([true, true, false]);
  });

  it("refuses what came after a link an operator revoked by jti, not what came before it", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const { a, b, c } = chain(org);
    await stub(org).revoke({ orgId: org, kind: "jti", value: b.jti, reason: "operator" });
    expect(await gateway(c)).toEqual(REFUSED);
    expect(await gateway(a)).toEqual({ status: 200 });
  });

  it("still refuses them once A's entry is folded into its client's cut-off, in a view that followed the events", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const { a, b, c } = chain(org);
    const following = new RevocationView(env, { maxStalenessMs: 0, maxOrgs: 10 });
    expect(await following.isRevoked(c)).toBe(false);
    await revokeByItsClient(a);
    expect(await following.isRevoked(c)).toBe(true);
    // A cut-off of A's client covering A (as a fold records): the view drops A's own entry with it.
    await stub(org).revoke({ orgId: org, kind: "client", value: "mac_a", reason: "rfc7009 by mac_a (folded)" });
    const { entries } = await stub(org).snapshot(org);
    const cutOff = entries.find((e) => e.kind === "client")?.revokedAt as number;
    // Derived from a token of mac_a issued after the cut-off: not covered by it.
    const later = token(org, "mac_b", [token(org, "mac_a", [], cutOff + 1)]);
    const cold = new RevocationView(env, { maxStalenessMs: 0, maxOrgs: 10 });
    for (const view of [following, cold]) {
      expect(await Promise.all([b, c, later].map((t) => view.isRevoked(t)))).toEqual([true, true, false]);
    }
    // The cut-off alone refuses what was derived from a token of mac_a it covers (one whose jti no entry
    // names, as after the object's fold), at the object, by the shared rule and in both views.
    const fromCovered = token(org, "mac_b", [token(org, "mac_a", [], cutOff - 1)]);
    const snapshot = await stub(org).snapshot(org);
    expect(await stub(org).areRevoked([fromCovered, later])).toEqual([true, false]);
    expect([fromCovered, later].map((t) => isTokenRevoked(snapshot, t))).toEqual([true, false]);
    expect([await following.isRevoked(fromCovered), await cold.isRevoked(fromCovered)]).toEqual([true, true]);
    expect(await gateway(c)).toEqual(REFUSED);
  });

  it("refuses a token whose derived_from it cannot read (invalid_token, not a pass)", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const malformed = { ...token(org, "mac_b"), derived_from: [{ jti: "x", client_id: "mac_a" }] };
    expect(await gateway(malformed)).toEqual({ status: 401, error: "invalid_token", code: "ERR_TOKEN_CLAIM_INVALID" });
  });

  it("refuses a token redeemed from an external issuer's ID-JAG once the org stops trusting it", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const trust = trustedIssuerGrantId(crypto.randomUUID());
    const redeemed = { ...token(org, "mac_b"), grant_chain: [trust] };
    const exchanged = { ...token(org, "mac_b", [redeemed]), grant_chain: [trust] };
    const otherTrust = { ...token(org, "mac_b"), grant_chain: [trustedIssuerGrantId(crypto.randomUUID())] };
    await stub(org).revoke({ orgId: org, kind: "grant", value: trust, reason: "trusted issuer removed" });
    expect(await gateway(redeemed)).toEqual(REFUSED);
    expect(await gateway(exchanged)).toEqual(REFUSED);
    expect(await gateway(otherTrust)).toEqual({ status: 200 });
  });
});

describe("gateway: tokens obtained with a revoked actor token", () => {
  /**
   * T_u a person's token, T_a the agent's own; D exchanged from T_u with
   * T_a as actor (RFC 8693 §2.1) names T_a, then T_u
   * (workers/token/src/grants/token-exchange-issue.ts); D2 the same from
   * T_u with the agent's other token T_a2.
   */
  function delegation(org: string) {
    const tU = token(org, "mac_user_app");
    const asAgent = (claims: Claims): Claims => ({ ...claims, sub: "mac_agent" });
    const [tA, tA2] = [asAgent(token(org, "mac_agent")), asAgent(token(org, "mac_agent"))];
    const act = { sub: "mac_agent", client_id: "mac_agent" };
    const d = { ...token(org, "mac_agent", [tA, tU]), act };
    const d2 = { ...token(org, "mac_agent", [tA2, tU]), act };
    return { tU, tA, d, d2 };
  }

  it("refuses D once the agent revokes T_a by RFC 7009, and serves T_u and D2", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const { tU, tA, d, d2 } = delegation(org);
    expect(await gateway(d)).toEqual({ status: 200 });
    expect(await revokeByItsClient(tA)).toMatchObject({ recorded: "jti" });
    expect(await gateway(d)).toEqual(REFUSED);
    expect(await gateway(tU)).toEqual({ status: 200 });
    expect(await gateway(d2)).toEqual({ status: 200 });
  });

  it("refuses D once an operator revokes T_a by jti, and serves T_u and D2", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const { tU, tA, d, d2 } = delegation(org);
    await stub(org).revoke({ orgId: org, kind: "jti", value: tA.jti, reason: "agent credential stolen" });
    expect(await gateway(d)).toEqual(REFUSED);
    expect(await gateway(tU)).toEqual({ status: 200 });
    expect(await gateway(d2)).toEqual({ status: 200 });
  });
});
