import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RevocableClaims } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { MAX_DERIVED_FROM_LENGTH } from "../../shared/contracts/tokens.ts";

function stub(orgId: string) {
  return env.ORG_STATE.getByName(orgStateName(orgId));
}

/**
 * isRevoked and areRevoked answer from the claims they are given. Claims
 * without an integer `iat` (or `jti`, `sub`, `client_id`) matched no cut-off,
 * since SQLite compares `revoked_at >= NULL` as false: a subject revoked in the
 * org read "not revoked" for any caller that sent them so (fail open). Such a
 * call is now refused, and the caller fails closed as for any failed read.
 */
describe("OrgState: the claims a revocation check is asked about", () => {
  it("refuses malformed claims instead of answering not revoked", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const s = stub(org);
    await s.revoke({ orgId: org, kind: "subject", value: "user-1", reason: "member-removed" });
    const now = Math.floor(Date.now() / 1000);
    const good: RevocableClaims = { jti: "j-1", sub: "user-1", client_id: "mac_c", org_id: org, iat: now - 10 };
    expect(await s.isRevoked(good)).toBe(true);
    expect(await s.areRevoked([good, { ...good, sub: "user-2" }])).toEqual([true, false]);

    let deep: Record<string, unknown> = { sub: "agent" };
    for (let i = 0; i < 64; i++) deep = { sub: `agent-${i}`, act: deep };
    const malformed: [string, unknown][] = [
      ["no iat", { ...good, iat: undefined }],
      ["iat not a number", { ...good, iat: "1" }],
      ["iat NaN", { ...good, iat: Number.NaN }],
      ["no jti", { ...good, jti: undefined }],
      ["empty sub", { ...good, sub: "" }],
      ["client_id not a string", { ...good, client_id: 7 }],
      ["sid not a string", { ...good, sid: 1 }],
      ["grant_chain a string", { ...good, grant_chain: "grant-1" }],
      ["act not an object", { ...good, act: "agent" }],
      ["act nested past any token's", { ...good, act: deep }],
      // An ancestor it could not read would let that token's revocation miss this one (derived_from).
      ["derived_from not a list", { ...good, derived_from: { jti: "j-0", client_id: "mac_c", iat: now } }],
      ["derived_from without iat", { ...good, derived_from: [{ jti: "j-0", client_id: "mac_c" }] }],
      [
        "derived_from past its cap",
        { ...good, derived_from: Array(MAX_DERIVED_FROM_LENGTH + 1).fill({ jti: "j-0", client_id: "c", iat: 1 }) },
      ],
    ];
    for (const [name, claims] of malformed) {
      // An RPC promise is a thenable of its own: awaited inside an async function, it is a Promise.
      await expect((async () => s.isRevoked(claims as RevocableClaims))(), name).rejects.toThrow(/^claims/);
      await expect((async () => s.areRevoked([good, claims as RevocableClaims]))(), name).rejects.toThrow(/^claims/);
    }
  });
});
