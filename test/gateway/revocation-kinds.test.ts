import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RevocationKind } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { AccessTokenClaims } from "../../shared/contracts/tokens.ts";
import { isTokenRevoked } from "../../shared/revocation/is-token-revoked.ts";
import { RevocationView } from "../../workers/gateway/src/trust/revocation-view.ts";

const now = () => Math.floor(Date.now() / 1000);

/** Every token of a row is for one org; `later` tokens are issued after the revocation. */
type Claims = Partial<AccessTokenClaims> & { later?: boolean };

interface Row {
  kind: RevocationKind;
  /** The revoked value; `ORG` stands for the row's own org id. */
  value: string;
  /** Tokens it must cut off. */
  revoked: Claims[];
  /** Tokens it must leave alone: other values, the same value in another claim, later tokens. */
  kept: Claims[];
}

/**
 * Every kind blocks exactly what it names and nothing else (issue 8). The
 * same table runs through the gateway's indexed view, the shared rule
 * (shared/revocation/is-token-revoked.ts) and the object's own keyed check
 * the token Worker asks (OrgState.isRevoked), so the three cannot drift apart.
 */
const TABLE: Row[] = [
  {
    kind: "jti",
    value: "jti-x",
    revoked: [{ jti: "jti-x" }, { jti: "jti-x", later: true }],
    kept: [{ jti: "jti-y" }, { sub: "jti-x" }, { sid: "jti-x" }, { grant_id: "jti-x" }],
  },
  {
    kind: "session",
    value: "sess-x",
    revoked: [{ sid: "sess-x" }, { sid: "sess-x", later: true }],
    kept: [{ sid: "sess-y" }, {}, { jti: "sess-x" }, { sub: "sess-x" }, { grant_id: "sess-x" }],
  },
  {
    kind: "subject",
    value: "user-x",
    revoked: [{ sub: "user-x" }, { sub: "user-x", act: { sub: "agent", client_id: "mac_agent" } }],
    kept: [{ sub: "user-y" }, { sub: "user-x", later: true }, { client_id: "user-x" }, { sid: "user-x" }],
  },
  {
    kind: "client",
    value: "mac_x",
    revoked: [
      { client_id: "mac_x" },
      // An actor anywhere along the act chain (a revoked agent stops acting through tokens it passed on).
      { client_id: "mac_b", act: { sub: "mac_b", client_id: "mac_b", act: { sub: "mac_x", client_id: "mac_x" } } },
    ],
    kept: [
      { client_id: "mac_y" },
      { client_id: "mac_x", later: true },
      { sub: "mac_x", client_id: "mac_y" },
      { client_id: "mac_b", act: { sub: "mac_b", client_id: "mac_b" } },
    ],
  },
  {
    kind: "grant",
    value: "dg_x",
    // A token made from a delegated token rests on that token's grant too (`grant_chain`).
    revoked: [
      { grant_id: "dg_x" },
      { grant_id: "dg_x", later: true },
      { grant_id: "dg_y", grant_chain: ["dg_x"] },
      { grant_id: "dg_y", grant_chain: ["dg_z", "dg_x"], later: true },
    ],
    kept: [
      { grant_id: "dg_y" },
      {},
      { jti: "dg_x" },
      { sid: "dg_x" },
      { client_id: "dg_x" },
      { grant_id: "dg_y", grant_chain: ["dg_z"] },
    ],
  },
  {
    kind: "org",
    value: "ORG",
    revoked: [{}, { client_id: "mac_other", sub: "someone" }],
    kept: [{ later: true }],
  },
];

function token(orgId: string, claims: Claims): AccessTokenClaims {
  const { later, ...overrides } = claims;
  // Cut-offs compare iat with revoked_at (whole seconds): a "later" token is
  // issued two seconds after, an earlier one ten seconds before.
  const iat = later ? now() + 2 : now() - 10;
  return {
    iss: "i",
    aud: "a",
    sub: "u",
    exp: iat + 300,
    iat,
    jti: crypto.randomUUID(),
    client_id: "mac_c",
    org_id: orgId,
    ...overrides,
  };
}

describe("every revocation kind blocks exactly what it names", () => {
  for (const row of TABLE) {
    it(`${row.kind}: cuts off its tokens and no others`, async () => {
      const orgId = `org-${crypto.randomUUID()}`;
      const value = row.value === "ORG" ? orgId : row.value;
      const stub = env.ORG_STATE.getByName(orgStateName(orgId));
      await stub.revoke({ orgId, kind: row.kind, value, reason: "test" }, now() + 300);
      const snapshot = await stub.snapshot(orgId);
      const view = new RevocationView(env, { maxStalenessMs: 0, maxOrgs: 10 });
      for (const [claims, expected] of [
        ...row.revoked.map((c) => [c, true] as const),
        ...row.kept.map((c) => [c, false] as const),
      ]) {
        const t = token(orgId, claims);
        expect({ claims, gateway: await view.isRevoked(t) }).toEqual({ claims, gateway: expected });
        expect({ claims, shared: isTokenRevoked(snapshot, t) }).toEqual({ claims, shared: expected });
        expect({ claims, object: await stub.isRevoked(t) }).toEqual({ claims, object: expected });
        // The batched form the token Worker's exchange uses, beside a token nothing revokes.
        const unrevoked = token(orgId, { jti: "jti-none", sub: "user-none", client_id: "mac_none", later: true });
        expect({ claims, batch: await stub.areRevoked([t, unrevoked]) }).toEqual({ claims, batch: [expected, false] });
      }
    });
  }

  it("a revocation in one org never touches another org's tokens", async () => {
    const [a, b] = [`org-${crypto.randomUUID()}`, `org-${crypto.randomUUID()}`];
    await env.ORG_STATE.getByName(orgStateName(a)).revoke({ orgId: a, kind: "subject", value: "u", reason: "test" });
    await env.ORG_STATE.getByName(orgStateName(a)).revoke({ orgId: a, kind: "org", value: a, reason: "test" });
    const view = new RevocationView(env, { maxStalenessMs: 0, maxOrgs: 10 });
    expect(await view.isRevoked(token(a, {}))).toBe(true);
    expect(await view.isRevoked(token(b, {}))).toBe(false);
  });
});
