import { env, exports } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { RevocationView } from "../../workers/gateway/src/trust/revocation-view.ts";
import { memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// A client that revoked its cap of tokens (RFC 7009) has its next revocation
// folded into one `client` cut-off (docs/revocation.md, "Bounds"): the
// gateway must refuse every token of it issued up to the cut-off, including
// those whose own jti entries the fold dropped, and nobody else's.

let signer: TestSigner;
beforeAll(async () => {
  signer = await testSigner();
});
beforeEach(() => signer.publish());

const now = () => Math.floor(Date.now() / 1000);
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));

function claimsOf(orgId: string, clientId: string, iat = now() - 10) {
  return memberClaims({ org_id: orgId, client_id: clientId, sub: clientId, sid: undefined, iat, exp: iat + 300 });
}

type Claims = ReturnType<typeof claimsOf>;

/** RFC 7009 by the token's own client, as the token Worker records it. */
function revokeByItsClient(claims: Claims) {
  return stub(claims.org_id).revokeToken({
    claims: { jti: claims.jti, sub: claims.sub, client_id: claims.client_id, org_id: claims.org_id, iat: claims.iat },
    expiresAt: claims.exp,
    byTokenClient: true,
    reason: `rfc7009 by ${claims.client_id}`,
  });
}

async function gatewayStatus(claims: Claims): Promise<{ status: number; error?: string }> {
  const response = await exports.default.fetch(
    new Request(`http://localhost:8787${ENDPOINT.documents}`, {
      headers: { Authorization: `Bearer ${await signer.sign(claims)}` },
    }),
  );
  if (response.status === 200) return { status: 200 };
  const body = (await response.json()) as { error_description?: string };
  return { status: response.status, error: body.error_description?.split(":")[0] };
}

describe("gateway: a client's folded RFC 7009 revocations", () => {
  it("refuses every token of the client up to the cut-off, and no later one or other client's", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const revoked = Array.from({ length: MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT }, () => claimsOf(org, "mac_a"));
    await Promise.all(revoked.map(revokeByItsClient));
    const [first] = revoked as [Claims];
    const unrevoked = claimsOf(org, "mac_a");
    // Before the fold: the gateway refuses the revoked token and serves the others.
    expect(await gatewayStatus(first)).toEqual({ status: 401, error: "ERR_TOKEN_REVOKED" });
    expect(await gatewayStatus(unrevoked)).toEqual({ status: 200 });
    // An isolate's view that follows the object's events from before the fold.
    const following = new RevocationView(env, { maxStalenessMs: 0, maxOrgs: 10 });
    expect(await following.isRevoked(first)).toBe(true);

    expect(await revokeByItsClient(claimsOf(org, "mac_a"))).toMatchObject({ recorded: "client" });
    const { entries } = await stub(org).snapshot(org);
    expect(entries.filter((e) => e.kind === "jti")).toEqual([]);
    const revokedAt = entries.find((e) => e.kind === "client" && e.value === "mac_a")?.revokedAt as number;

    const cases = {
      revokedBeforeTheFold: first,
      neverRevokedButIssuedBefore: unrevoked,
      issuedInTheCutOffSecond: claimsOf(org, "mac_a", revokedAt),
      issuedTheSecondAfter: claimsOf(org, "mac_a", revokedAt + 1),
      anotherClients: claimsOf(org, "mac_b"),
    };
    const refused = { status: 401, error: "ERR_TOKEN_REVOKED" };
    const expected = {
      revokedBeforeTheFold: refused,
      neverRevokedButIssuedBefore: refused,
      issuedInTheCutOffSecond: refused,
      issuedTheSecondAfter: { status: 200 },
      anotherClients: { status: 200 },
    };
    const through = async (check: (claims: Claims) => Promise<unknown>) =>
      Object.fromEntries(await Promise.all(Object.entries(cases).map(async ([name, c]) => [name, await check(c)])));
    expect(await through(gatewayStatus)).toEqual(expected);
    // The same through a view that applied the fold's events and through one started from the snapshot.
    const cold = new RevocationView(env, { maxStalenessMs: 0, maxOrgs: 10 });
    for (const view of [following, cold]) {
      expect(await through((c) => view.isRevoked(c))).toEqual(
        Object.fromEntries(Object.entries(expected).map(([name, answer]) => [name, answer.status === 401])),
      );
    }
  });
});
