import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { AccessTokenClaims } from "../../shared/contracts/tokens.ts";
import { OrgRevocations } from "../../workers/gateway/src/trust/revocation-index.ts";

// A token made by token exchange from a browser access token rests on the
// browser grant through `grant_chain` (workers/token/src/grants/
// token-exchange-issue.ts grantChain). Once that grant is revoked (RFC 7009,
// a reused refresh token), the org's object refuses it; a gateway view must
// too, whether built from the snapshot or by applying events, although a
// browser grant entry is held in its person's table (revocation-index.ts).

const now = () => Math.floor(Date.now() / 1000);
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));

function exchanged(orgId: string, sub: string, chain: string[], grantId?: string): AccessTokenClaims {
  const iat = now() - 10;
  return {
    iss: "i",
    aud: "a",
    sub,
    client_id: "agent_x",
    org_id: orgId,
    iat,
    exp: iat + 300,
    jti: crypto.randomUUID(),
    ...(grantId ? { grant_id: grantId } : {}),
    grant_chain: chain,
  };
}

function revokeBrowserGrant(orgId: string, grantId: string) {
  return stub(orgId).revokeBrowserGrant({
    orgId,
    grantId,
    clientId: "oidc_a",
    subject: "user_a",
    reason: "rfc7009 refresh token by oidc_a",
  });
}

describe("a token resting on a revoked browser grant through grant_chain", () => {
  it("is refused by a view from the snapshot as by the object, with or without a delegation grant of its own", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const browserGrant = `oidc-grant:${crypto.randomUUID()}`;
    await revokeBrowserGrant(org, browserGrant);
    const tokens = [
      exchanged(org, "user_a", [browserGrant]),
      exchanged(org, "user_a", [browserGrant], "delegation-grant-1"),
      exchanged(org, "user_a", ["delegation-grant-0", browserGrant], "delegation-grant-1"),
    ];
    const untouched = exchanged(org, "user_a", [`oidc-grant:${crypto.randomUUID()}`]);
    const view = OrgRevocations.fromSnapshot(await stub(org).snapshot(org));
    const at = now();
    expect(await Promise.all([...tokens, untouched].map((t) => stub(org).isRevoked(t)))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect([...tokens, untouched].map((t) => view.matches(t, at))).toEqual([true, true, true, false]);
  });

  it("is refused by a view that applied the revocation's event", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const view = OrgRevocations.fromSnapshot(await stub(org).snapshot(org));
    const browserGrant = `oidc-grant:${crypto.randomUUID()}`;
    await revokeBrowserGrant(org, browserGrant);
    const changes = await stub(org).changesSince(view.version);
    if (changes.kind !== "changes") throw new Error(`expected changes, got ${changes.kind}`);
    expect(view.apply(changes.events)).toBe(true);
    const token = exchanged(org, "user_a", [browserGrant], "delegation-grant-1");
    expect([await stub(org).isRevoked(token), view.matches(token, now())]).toEqual([true, true]);
  });
});
