import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { BROWSER_GRANT_ID_PREFIX, OIDC_CLIENT_ID_PREFIX } from "../../shared/contracts/oidc.ts";
import { ALL_SCOPES } from "../../shared/contracts/scopes.ts";
import {
  type ActorClaim,
  CLIENT_ID_PREFIX,
  MAX_DELEGATION_DEPTH,
  MAX_DERIVED_FROM_LENGTH,
  MAX_GRANT_CHAIN_LENGTH,
} from "../../shared/contracts/tokens.ts";
import { MAX_AUTHORIZATION_HEADER_BYTES } from "../../workers/gateway/src/trust/bearer-token.ts";
import { gatewayFetch, memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// The gateway refuses an Authorization header longer than
// MAX_AUTHORIZATION_HEADER_BYTES before parsing it (bearer-token.ts). Every
// claim a legitimate chain of exchanges grows is bounded, so the largest
// token we can issue must fit under it, or a legitimate delegated token would
// be refused for its size (docs/revocation.md, "Tokens derived from a revoked
// token"). This pins that: a token at every bound at once, with ids as our
// generators make them, fits with the `DPoP ` scheme (RFC 9449 §7.1, the
// longer one) and its `cnf`, and the gateway serves it.

let signer: TestSigner;
beforeAll(async () => {
  signer = await testSigner();
});
beforeEach(() => signer.publish());

/** As shared/crypto/client-id.ts and the authn Worker's OIDC provider make them: a prefix and 24 characters. */
const agentClientId = (n: number) => `${CLIENT_ID_PREFIX}${String(n).padStart(24, "A")}`;
const BROWSER_CLIENT_ID = `${OIDC_CLIENT_ID_PREFIX}${"B".repeat(24)}`;
/** Better Auth's ids (users, organizations, sessions, authorization codes): 32 characters. */
const betterAuthId = (c: string) => c.repeat(32);

/**
 * Each `act` level is one exchange with an actor token (RFC 8693 §4.1),
 * which names its subject token and the agent's own token in
 * `derived_from`: the deepest chain an org may allow fills it.
 */
const DEEPEST_ACT = MAX_DELEGATION_DEPTH;

function largestClaims(): Record<string, unknown> {
  let act: ActorClaim | undefined;
  for (let level = 0; level < DEEPEST_ACT; level++) {
    const client = agentClientId(level);
    act = { sub: client, client_id: client, ...(act ? { act } : {}) };
  }
  const iat = Math.floor(Date.now() / 1000) - 10;
  const browserGrant = `${BROWSER_GRANT_ID_PREFIX}${betterAuthId("g")}`;
  const delegationGrants = Array.from({ length: MAX_GRANT_CHAIN_LENGTH - 1 }, () => `dg_${crypto.randomUUID()}`);
  return memberClaims({
    sub: betterAuthId("u"),
    org_id: betterAuthId("o"),
    sid: betterAuthId("s"),
    client_id: agentClientId(DEEPEST_ACT),
    roles: ["owner", "admin", "member"],
    scope: [...ALL_SCOPES].join(" "),
    iat,
    exp: iat + 300,
    act,
    grant_id: `dg_${crypto.randomUUID()}`,
    grant_chain: [browserGrant, ...delegationGrants],
    grant_chain_clients: { [browserGrant]: BROWSER_CLIENT_ID },
    derived_from: Array.from({ length: MAX_DERIVED_FROM_LENGTH }, (_, n) => ({
      jti: crypto.randomUUID(),
      client_id: agentClientId(n),
      iat,
    })),
  });
}

describe("the largest token a legitimate chain can produce", () => {
  it("fits the gateway's Authorization cap with the DPoP scheme and its cnf", async () => {
    // RFC 7638 thumbprint: 43 characters, as our keys' kid (keys/generate-key.ts); the test key's is longer.
    const bound = await signer.sign({ ...largestClaims(), cnf: { jkt: "J".repeat(43) } });
    // About 5 KiB with this issuer and audience: some 3 KiB to spare for a deployment's longer `iss` and `aud`.
    expect(`DPoP ${bound}`.length).toBeLessThanOrEqual(MAX_AUTHORIZATION_HEADER_BYTES);
  });

  it("is served by the gateway (as a bearer token)", async () => {
    const token = await signer.sign(largestClaims());
    const response = await gatewayFetch(`http://localhost:8787${ENDPOINT.documents}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
  });

  it("and a header one byte over the cap is refused before any parsing (RFC 6750 §3.1 invalid_request)", async () => {
    const response = await gatewayFetch(`http://localhost:8787${ENDPOINT.documents}`, {
      headers: { Authorization: `Bearer ${"a".repeat(MAX_AUTHORIZATION_HEADER_BYTES - "Bearer ".length + 1)}` },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("WWW-Authenticate")).toContain('error="invalid_request"');
    expect(((await response.json()) as { error_description?: string }).error_description).toContain("too large");
  });
});
