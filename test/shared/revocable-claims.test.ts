// shared/revocation/revocable-claims.ts: what of a token crosses to the org's
// object for a revocation check. Every claim a revocation can match goes
// (a claim left behind is a revocation the object cannot see: a token
// exchanged from a revoked one once passed userinfo so); nothing else of the
// token does, and an absent claim stays absent rather than an undefined key.
import { describe, expect, it } from "vitest";
import type { AccessTokenClaims } from "../../shared/contracts/tokens.ts";
import { revocableClaims } from "../../shared/revocation/revocable-claims.ts";

const full: AccessTokenClaims = {
  iss: "https://issuer.test",
  aud: "https://api.test",
  sub: "user_1",
  client_id: "client_b",
  org_id: "org_1",
  scope: "documents:read",
  jti: "jti_b",
  iat: 1_800_000_000,
  exp: 1_800_000_300,
  sid: "session_1",
  act: { sub: "agent_1", client_id: "client_agent" },
  grant_id: "grant_1",
  grant_chain: ["grant_0", "grant_1"],
  grant_chain_clients: { grant_0: "client_browser" },
  derived_from: [{ jti: "jti_a", client_id: "client_a", iat: 1_799_999_900 }],
  cnf: { jkt: "thumbprint" },
} as AccessTokenClaims;

describe("revocableClaims", () => {
  it("keeps every claim a revocation matches, derived_from included, and drops the rest", () => {
    expect(revocableClaims(full)).toEqual({
      jti: "jti_b",
      sub: "user_1",
      client_id: "client_b",
      org_id: "org_1",
      iat: 1_800_000_000,
      sid: "session_1",
      act: { sub: "agent_1", client_id: "client_agent" },
      grant_id: "grant_1",
      grant_chain: ["grant_0", "grant_1"],
      grant_chain_clients: { grant_0: "client_browser" },
      derived_from: [{ jti: "jti_a", client_id: "client_a", iat: 1_799_999_900 }],
    });
  });

  it("leaves an absent claim out instead of sending an undefined key", () => {
    const { sid, act, grant_id, grant_chain, grant_chain_clients, derived_from, ...plain } = full;
    const picked = revocableClaims(plain);
    expect(Object.keys(picked).sort()).toEqual(["client_id", "iat", "jti", "org_id", "sub"]);
  });
});
