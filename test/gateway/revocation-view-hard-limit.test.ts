import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { OrgStateNamespace } from "../../shared/contracts/org-state.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { AccessTokenClaims } from "../../shared/contracts/tokens.ts";
import { RevocationView } from "../../workers/gateway/src/trust/revocation-view.ts";
import { viewToken } from "./revocation-view-fixtures.ts";

const token = (orgId: string) => viewToken(orgId);

/**
 * The real org-state namespace, with an outage we switch on: while it is
 * down every read of the object fails as an unreachable object does (a
 * rejected RPC). Nothing else is replaced.
 */
function withOutage(): { source: { ORG_STATE: OrgStateNamespace; KV: KVNamespace }; down(on: boolean): void } {
  let unreachable = false;
  const real = env.ORG_STATE;
  const namespace = {
    getByName(name: string) {
      if (!unreachable) return real.getByName(name);
      const refuse = () => Promise.reject(new Error("Durable Object unreachable"));
      return { sync: refuse, snapshot: refuse, fetch: refuse };
    },
  } as unknown as OrgStateNamespace;
  return {
    source: { ORG_STATE: namespace, KV: env.KV },
    down(on) {
      unreachable = on;
    },
  };
}

describe("RevocationView while the org's object cannot be read", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("serves its last view for a failed refresh until the hard limit, then fails closed", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const revoked = token(orgId);
    await env.ORG_STATE.getByName(orgStateName(orgId)).revoke(
      { orgId, kind: "jti", value: revoked.jti, reason: "test" },
      revoked.exp,
    );
    const outage = withOutage();
    // A bound of 0: every check refreshes, so every check meets the outage.
    const view = new RevocationView(outage.source, { maxStalenessMs: 0, maxOrgs: 10, hardLimitMs: 500 });
    // The view's clock stands still until advanced: "within the hard limit" holds however slowly
    // a loaded machine runs the checks between (only Date is faked; timers and I/O run as usual).
    vi.useFakeTimers({ toFake: ["Date"] });
    expect(await view.isRevoked(revoked)).toBe(true);
    expect(await view.isRevoked(token(orgId))).toBe(false);

    outage.down(true);
    // Within the hard limit: the last view still answers, revocations included.
    expect(await view.isRevoked(revoked)).toBe(true);
    expect(await view.isRevoked(token(orgId))).toBe(false);

    // Past it: the check fails (the gateway answers 503 temporarily_unavailable).
    vi.setSystemTime(Date.now() + 600);
    await expect(view.isRevoked(token(orgId))).rejects.toThrow("Durable Object unreachable");

    // Back up: the object is read again and checks answer.
    outage.down(false);
    expect(await view.isRevoked(revoked)).toBe(true);
    expect(await view.isRevoked(token(orgId))).toBe(false);
  });

  it("fails closed at once for an org it holds no view of", async () => {
    const outage = withOutage();
    outage.down(true);
    const view = new RevocationView(outage.source, { maxStalenessMs: 0, maxOrgs: 10, hardLimitMs: 60_000 });
    await expect(view.isRevoked(token(`org-${crypto.randomUUID()}`))).rejects.toThrow("Durable Object unreachable");
  });

  it("without a hard limit, grants no grace past the bound", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const outage = withOutage();
    const view = new RevocationView(outage.source, { maxStalenessMs: 0, maxOrgs: 10 });
    expect(await view.isRevoked(token(orgId))).toBe(false);
    outage.down(true);
    await expect(view.isRevoked(token(orgId))).rejects.toThrow("Durable Object unreachable");
  });
});
