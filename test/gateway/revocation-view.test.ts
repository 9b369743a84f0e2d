import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CACHE_KEY, orgStateName } from "../../shared/contracts/storage-keys.ts";
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

const newOrg = () => `org-${crypto.randomUUID()}`;

function revokeJti(orgId: string, t: AccessTokenClaims) {
  return env.ORG_STATE.getByName(orgStateName(orgId)).revoke(
    { orgId, kind: "jti", value: t.jti, reason: "test" },
    t.exp,
  );
}

describe("RevocationView", () => {
  it("shares one read of the org's object per location window, and never serves a view older than the bound", async () => {
    const orgId = newOrg();
    const t = token(orgId);
    const firstIsolate = new RevocationView(env, { maxStalenessMs: 1000, maxOrgs: 100 });
    expect(await firstIsolate.isRevoked(t)).toBe(false);

    await revokeJti(orgId, t);

    // A second isolate in the same location within the window reuses the
    // location's copy instead of reading the object again.
    const secondIsolate = new RevocationView(env, { maxStalenessMs: 1000, maxOrgs: 100 });
    expect(await secondIsolate.isRevoked(t)).toBe(false);

    // Once the window has passed, both see the revocation.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await firstIsolate.isRevoked(t)).toBe(true);
    expect(await secondIsolate.isRevoked(t)).toBe(true);
  });

  it("cuts off client and org revocations by issue time", async () => {
    const orgId = newOrg();
    const view = new RevocationView(env, { maxStalenessMs: 0, maxOrgs: 100 });
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

  it("cuts off a delegated token when a client along its act chain is revoked", async () => {
    const orgId = newOrg();
    const view = new RevocationView(env, { maxStalenessMs: 0, maxOrgs: 100 });
    const iat = Math.floor(Date.now() / 1000) - 10;
    // Issued to agent-b acting for u, through agent-a's earlier delegation.
    const delegated = token(orgId, {
      iat,
      client_id: "agent-b",
      act: { sub: "agent-b", client_id: "agent-b", act: { sub: "agent-a", client_id: "agent-a" } },
    });
    const unrelated = token(orgId, { iat, client_id: "agent-b", act: { sub: "agent-b", client_id: "agent-b" } });
    expect(await view.isRevoked(delegated)).toBe(false);
    await env.ORG_STATE.getByName(orgStateName(orgId)).revoke({
      orgId,
      kind: "client",
      value: "agent-a",
      reason: "agent disabled",
    });
    expect(await view.isRevoked(delegated)).toBe(true);
    expect(await view.isRevoked(unrelated)).toBe(false);
    // Like any client cut-off, it does not reach a chain issued after it.
    expect(await view.isRevoked({ ...delegated, iat: Math.floor(Date.now() / 1000) + 2 })).toBe(false);
  });

  it("holds at most maxOrgs views, evicting the least recently used", async () => {
    // A long window: within it, only an evicted org is read again.
    const view = new RevocationView(env, { maxStalenessMs: 60_000, maxOrgs: 2 });
    const [a, b, c] = [newOrg(), newOrg(), newOrg()];
    const ta = token(a);
    const tb = token(b);
    expect(await view.isRevoked(ta)).toBe(false);
    expect(await view.isRevoked(tb)).toBe(false);
    // Touching a makes b the least recently used one.
    expect(await view.isRevoked(ta)).toBe(false);
    expect(await view.isRevoked(token(c))).toBe(false);
    expect(view.size).toBe(2);

    // Both a and b are revoked now; without the location's copies, only an
    // org that is no longer held is read again from its object and shows it.
    // a is still held, fresh within the window; b was evicted.
    await revokeJti(a, ta);
    await revokeJti(b, tb);
    await caches.default.delete(CACHE_KEY.revocations(a));
    await caches.default.delete(CACHE_KEY.revocations(b));
    expect(await view.isRevoked(ta)).toBe(false);
    expect(await view.isRevoked(tb)).toBe(true);
    expect(view.size).toBe(2);
  });

  it("never believes a location-cache entry that claims to be from the future", async () => {
    const orgId = newOrg();
    const t = token(orgId);
    await revokeJti(orgId, t);
    // An entry that says "no revocations, read a minute from now" would pass
    // the age check for a minute past the bound.
    await caches.default.put(
      CACHE_KEY.revocations(orgId),
      new Response(JSON.stringify({ fetchedAt: Date.now() + 60_000, snapshot: { orgId, version: 0, entries: [] } }), {
        headers: { "Cache-Control": "max-age=60", "Content-Type": "application/json" },
      }),
    );
    const view = new RevocationView(env, { maxStalenessMs: 5000, maxOrgs: 100 });
    expect(await view.isRevoked(t)).toBe(true);
  });

  it("refetches from the object when the location-cache entry is not a snapshot", async () => {
    const orgId = newOrg();
    const t = token(orgId);
    await revokeJti(orgId, t);
    await caches.default.put(
      CACHE_KEY.revocations(orgId),
      new Response(JSON.stringify({ fetchedAt: Date.now(), snapshot: { orgId } }), {
        headers: { "Cache-Control": "max-age=60", "Content-Type": "application/json" },
      }),
    );
    const view = new RevocationView(env, { maxStalenessMs: 5000, maxOrgs: 100 });
    expect(await view.isRevoked(t)).toBe(true);
  });
});
