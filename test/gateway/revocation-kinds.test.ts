import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  clientSubjectValue,
  MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON as CAP,
  type RevocationKind,
} from "../../shared/contracts/revocation.ts";
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

  it("client_subject (only a fold records one): cuts off the person at the client, and tokens delegated from their browser grant there (or naming no grant's client), and no others", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const stub = env.ORG_STATE.getByName(orgStateName(orgId));
    for (let i = 0; i <= CAP; i++) {
      await stub.revokeBrowserGrant({
        orgId,
        grantId: `oidc-grant:${crypto.randomUUID()}`,
        clientId: "mac_x",
        subject: "user-x",
        reason: "test",
      });
    }
    const snapshot = await stub.snapshot(orgId);
    expect(snapshot.entries.filter((e) => e.kind === "client_subject").map((e) => e.value)).toEqual([
      clientSubjectValue("mac_x", "user-x"),
    ]);
    const delegated = { act: { sub: "mac_b", client_id: "mac_b" }, client_id: "mac_b", grant_id: "dg_1" };
    const rows: [Claims, boolean][] = [
      [{ sub: "user-x", client_id: "mac_x" }, true],
      [{ sub: "user-x", client_id: "mac_x", grant_chain: ["oidc-grant:other"] }, true],
      // Signed before `grant_chain_clients`: whose grant it rests on is unknown, so it is refused (fail closed).
      [{ sub: "user-x", ...delegated, grant_chain: ["oidc-grant:other"] }, true],
      // Delegated from the person's browser grant at the cut-off's client: refused.
      [
        {
          sub: "user-x",
          ...delegated,
          grant_chain: ["oidc-grant:g"],
          grant_chain_clients: { "oidc-grant:g": "mac_x" },
        },
        true,
      ],
      [
        {
          sub: "user-x",
          ...delegated,
          grant_chain: ["oidc-grant:g", "oidc-grant:h"],
          grant_chain_clients: { "oidc-grant:g": "mac_y", "oidc-grant:h": "mac_x" },
        },
        true,
      ],
      // …from their browser grant at another client: not the folding client's to end.
      [
        {
          sub: "user-x",
          ...delegated,
          grant_chain: ["oidc-grant:g"],
          grant_chain_clients: { "oidc-grant:g": "mac_y" },
        },
        false,
      ],
      [
        {
          sub: "user-x",
          ...delegated,
          grant_chain: ["oidc-grant:g"],
          grant_chain_clients: { "oidc-grant:g": "mac_x" },
          later: true,
        },
        false,
      ],
      [
        {
          sub: "user-y",
          ...delegated,
          grant_chain: ["oidc-grant:g"],
          grant_chain_clients: { "oidc-grant:g": "mac_x" },
        },
        false,
      ],
      [{ sub: "user-x", client_id: "mac_x", later: true }, false],
      [{ sub: "user-x", client_id: "mac_y" }, false],
      [{ sub: "user-x", client_id: "mac_y", grant_chain: ["oidc-grant:other"] }, false],
      [{ sub: "user-x", ...delegated, grant_chain: ["dg_0"] }, false],
      // An actor named mac_x is not the token's client: the cut-off is the person's tokens issued to it.
      [
        {
          sub: "user-x",
          client_id: "mac_b",
          act: { sub: "mac_b", client_id: "mac_b", act: { sub: "mac_x", client_id: "mac_x" } },
        },
        false,
      ],
      [{ sub: "user-y", client_id: "mac_x" }, false],
      [{ sub: clientSubjectValue("mac_x", "user-x"), client_id: "mac_x" }, false],
    ];
    const view = new RevocationView(env, { maxStalenessMs: 0, maxOrgs: 10 });
    for (const [claims, expected] of rows) {
      const t = token(orgId, claims);
      expect({ claims, gateway: await view.isRevoked(t) }).toEqual({ claims, gateway: expected });
      expect({ claims, shared: isTokenRevoked(snapshot, t) }).toEqual({ claims, shared: expected });
      expect({ claims, object: await stub.isRevoked(t) }).toEqual({ claims, object: expected });
    }
  });

  it("a revocation in one org never touches another org's tokens", async () => {
    const [a, b] = [`org-${crypto.randomUUID()}`, `org-${crypto.randomUUID()}`];
    await env.ORG_STATE.getByName(orgStateName(a)).revoke({ orgId: a, kind: "subject", value: "u", reason: "test" });
    await env.ORG_STATE.getByName(orgStateName(a)).revoke({ orgId: a, kind: "org", value: a, reason: "test" });
    const view = new RevocationView(env, { maxStalenessMs: 0, maxOrgs: 10 });
    expect(await view.isRevoked(token(a, {}))).toBe(true);
    expect(await view.isRevoked(token(b, {}))).toBe(false);
  });
});
