import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { AccessTokenClaims } from "../../shared/contracts/tokens.ts";
import { RevocationView } from "../../workers/gateway/src/trust/revocation-view.ts";

function token(orgId: string, overrides: Partial<AccessTokenClaims> = {}): AccessTokenClaims {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: "i",
    aud: "a",
    sub: "u",
    exp: now + 60,
    iat: now,
    jti: crypto.randomUUID(),
    client_id: "c",
    org_id: orgId,
    ...overrides,
  };
}

describe("RevocationView", () => {
  it("shares one read of the org's object per location window, and never serves a view older than the bound", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const t = token(orgId);
    const firstIsolate = new RevocationView(env, 1000);
    expect(await firstIsolate.isRevoked(t)).toBe(false);

    await env.ORG_STATE.getByName(orgStateName(orgId)).revoke(
      { orgId, kind: "jti", value: t.jti, reason: "test" },
      t.exp,
    );

    // A second isolate in the same location within the window reuses the
    // location's copy instead of reading the object again.
    const secondIsolate = new RevocationView(env, 1000);
    expect(await secondIsolate.isRevoked(t)).toBe(false);

    // Once the window has passed, both see the revocation.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await firstIsolate.isRevoked(t)).toBe(true);
    expect(await secondIsolate.isRevoked(t)).toBe(true);
  });

  it("cuts off client and org revocations by issue time", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const view = new RevocationView(env, 0);
    const stub = env.ORG_STATE.getByName(orgStateName(orgId));
    const before = token(orgId, { iat: Math.floor(Date.now() / 1000) - 10 });
    await stub.revoke({ orgId, kind: "client", value: "c", reason: "compromised" });
    expect(await view.isRevoked(before)).toBe(true);
    expect(await view.isRevoked(token(orgId, { client_id: "other", iat: before.iat }))).toBe(false);
    await stub.revoke({ orgId, kind: "org", value: orgId, reason: "suspended" });
    expect(await view.isRevoked(token(orgId, { client_id: "other", iat: before.iat }))).toBe(true);
    // A token issued after the cut-off is not caught by it.
    expect(await view.isRevoked(token(orgId, { client_id: "other", iat: Math.floor(Date.now() / 1000) + 2 }))).toBe(
      false,
    );
  });
});
