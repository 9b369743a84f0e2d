import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";

function stub(orgId: string) {
  return env.ORG_STATE.getByName(orgStateName(orgId));
}

describe("OrgState: the current policy version", () => {
  it("has none until a publish, then serves it in the snapshot beside the revocations", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const s = stub(org);
    expect(await s.policyPublication()).toEqual({ version: null, sequence: 0 });
    expect((await s.snapshot(org)).policyVersion).toBeNull();

    expect(await s.setPolicyVersion(1)).toEqual({ version: 1, sequence: 1 });
    await s.revoke({ orgId: org, kind: "jti", value: "j1", reason: "test" });
    const snapshot = await s.snapshot(org);
    expect(snapshot).toMatchObject({ policyVersion: 1, version: 1 });
    expect(snapshot.entries.map((e) => e.value)).toEqual(["j1"]);
  });

  it("moves the version both ways (rollback) while the publish counter only grows, apart from the revocation version", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const s = stub(org);
    expect(await s.setPolicyVersion(3)).toEqual({ version: 3, sequence: 1 });
    expect(await s.setPolicyVersion(5)).toEqual({ version: 5, sequence: 2 });
    expect(await s.setPolicyVersion(3)).toEqual({ version: 3, sequence: 3 });
    expect(await s.policyPublication()).toEqual({ version: 3, sequence: 3 });
    expect(await s.snapshot(org)).toMatchObject({ policyVersion: 3, version: 0 });
  });

  it("gives each of many concurrent publishes its own place in the counter", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const s = stub(org);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => s.setPolicyVersion(i + 1)));
    expect(results.map((r) => r.sequence).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const last = results.find((r) => r.sequence === 50);
    expect((await s.snapshot(org)).policyVersion).toBe(last?.version);
  });

  it("refuses a version that is not a positive integer", async () => {
    const s = stub(`org-${crypto.randomUUID()}`);
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      const error = await s.setPolicyVersion(bad).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(String(error)).toMatch(/positive integer/);
    }
    expect(await s.policyPublication()).toEqual({ version: null, sequence: 0 });
  });
});
