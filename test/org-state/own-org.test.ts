// Each org's OrgState object is named orgStateName(orgId) and holds only that
// org: a call naming another is refused (ERR_ORG_STATE_WRONG_ORG), so org A's
// object never records B's revocation, serves A's entries as B's, or mirrors
// A's snapshot under B's KV key.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RevocableClaims } from "../../shared/contracts/revocation.ts";
import { KV_KEY, orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { OrgState } from "../../workers/org-state/src/org-state.ts";
import { ERR_ORG_STATE_WRONG_ORG, OrgMismatchError } from "../../workers/org-state/src/own-org.ts";

/**
 * Expects the call, made on the object itself, to be refused as naming
 * another org. (Inside the object: a rejection over RPC is also reported
 * as the object's uncaught error, which fails the run.)
 */
async function expectRefused(orgId: string, call: (instance: OrgState) => Promise<unknown>): Promise<void> {
  await runInDurableObject(stub(orgId), async (instance: OrgState) => {
    const refusal = await call(instance).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(OrgMismatchError);
    expect(refusal).toMatchObject({ code: ERR_ORG_STATE_WRONG_ORG });
  });
}

function freshOrg(): string {
  return `org-${crypto.randomUUID()}`;
}

function stub(orgId: string) {
  return env.ORG_STATE.getByName(orgStateName(orgId));
}

function claims(orgId: string): RevocableClaims {
  return { jti: "j", sub: "user-1", client_id: "c", org_id: orgId, iat: Math.floor(Date.now() / 1000) };
}

describe("OrgState: only its own org", () => {
  it("refuses a revocation naming another org: nothing recorded, nothing mirrored under that org's key", async () => {
    const [a, b] = [freshOrg(), freshOrg()];
    await expectRefused(a, (instance) =>
      instance.revoke({ orgId: b, kind: "subject", value: "user-1", reason: "test" }),
    );
    expect((await stub(a).snapshot(a)).version).toBe(0);

    // A's own revocation is recorded, and its alarm mirrors under A's key only.
    expect(await stub(a).revoke({ orgId: a, kind: "subject", value: "user-1", reason: "test" })).toBe(1);
    await runDurableObjectAlarm(stub(a));
    expect(await env.KV.get(KV_KEY.revocationMirror(b))).toBeNull();
    expect(JSON.parse((await env.KV.get(KV_KEY.revocationMirror(a))) ?? "null")).toMatchObject({
      orgId: a,
      version: 1,
    });
  });

  it("refuses an org cut-off whose value names another org: nothing recorded", async () => {
    const [a, b] = [freshOrg(), freshOrg()];
    await expectRefused(a, (instance) => instance.revoke({ orgId: a, kind: "org", value: b, reason: "test" }));
    expect((await stub(a).snapshot(a)).version).toBe(0);
    expect(await stub(a).changesSince(0)).toMatchObject({ kind: "changes", events: [] });

    // Its own org's cut-off is recorded.
    expect(await stub(a).revoke({ orgId: a, kind: "org", value: a, reason: "test" })).toBe(1);
    expect((await stub(a).snapshot(a)).entries).toMatchObject([{ kind: "org", value: a }]);
  });

  it("refuses every read naming another org", async () => {
    const [a, b] = [freshOrg(), freshOrg()];
    await stub(a).revoke({ orgId: a, kind: "subject", value: "user-1", reason: "test" });
    await expectRefused(a, (instance) => instance.snapshot(b));
    await expectRefused(a, (instance) => instance.sync(b, null));
    await expectRefused(a, (instance) => instance.isRevoked(claims(b)));
    await expectRefused(a, (instance) => instance.areRevoked([claims(a), claims(b)]));
    // Its own org's reads are answered.
    expect(await stub(a).isRevoked({ ...claims(a), iat: 0 })).toBe(true);
    expect(await stub(a).areRevoked([claims(a)])).toHaveLength(1);
  });

  it("an org row another org's revoke left (before names were checked) is never mirrored to", async () => {
    const [a, b] = [freshOrg(), freshOrg()];
    await stub(a).revoke({ orgId: a, kind: "subject", value: "user-1", reason: "test" });
    await runInDurableObject(stub(a), (_instance, state) => {
      state.storage.sql.exec("UPDATE org SET id = ?", b);
    });
    await runDurableObjectAlarm(stub(a));
    expect(await env.KV.get(KV_KEY.revocationMirror(b))).toBeNull();

    // Its next revocation puts its own org back, and the mirror follows under A's key.
    expect(await stub(a).revoke({ orgId: a, kind: "subject", value: "user-2", reason: "test" })).toBe(2);
    await runInDurableObject(stub(a), (_instance, state) => {
      state.storage.sql.exec("DELETE FROM meta WHERE key = 'mirror_not_before'");
    });
    await runDurableObjectAlarm(stub(a));
    expect(JSON.parse((await env.KV.get(KV_KEY.revocationMirror(a))) ?? "null")).toMatchObject({
      orgId: a,
      version: 2,
    });
    expect(await env.KV.get(KV_KEY.revocationMirror(b))).toBeNull();
  });
});
