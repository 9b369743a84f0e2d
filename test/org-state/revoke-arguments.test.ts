import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RevocableClaims } from "../../shared/contracts/org-state.ts";
import type { RevocationEvent, TokenRevocation } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { MAX_ARE_REVOKED_CLAIMS } from "../../workers/org-state/src/revocation-reads.ts";

const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));
const newOrg = () => `org-${crypto.randomUUID()}`;

describe("OrgState.revoke: a malformed jtiExpiresAt is refused, never recorded as an entry that is already dead", () => {
  it("refuses a token expiry that is not a non-negative integer (null, -1, NaN, a string) with a RangeError and records nothing", async () => {
    const org = newOrg();
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    const malformed: unknown[] = [String(inAnHour), Number.NaN, inAnHour + 0.5, -1, Number.POSITIVE_INFINITY, null];
    for (const jtiExpiresAt of malformed) {
      await expect(
        (async () => stub(org).revoke({ orgId: org, kind: "jti", value: "j1", reason: "t" }, jtiExpiresAt as number))(),
        String(jtiExpiresAt),
      ).rejects.toThrow("jtiExpiresAt must be the token's exp: a non-negative integer of seconds");
    }
    const snapshot = await stub(org).snapshot(org);
    expect(snapshot.version).toBe(0);
    expect(snapshot.entries).toEqual([]);
  });

  it("still records a jti entry until its token's exp plus the clock tolerance", async () => {
    const org = newOrg();
    const exp = Math.floor(Date.now() / 1000) + 600;
    expect(await stub(org).revoke({ orgId: org, kind: "jti", value: "j1", reason: "t" }, exp)).toBe(1);
    expect((await stub(org).snapshot(org)).entries).toMatchObject([{ kind: "jti", value: "j1", expiresAt: exp + 5 }]);
  });
});

describe("OrgState: a missing argument is a typed refusal, not a TypeError from inside the object", () => {
  it("revoke without an event is ERR_ORG_STATE_WRONG_ORG", async () => {
    const org = newOrg();
    await expect((async () => stub(org).revoke(null as unknown as RevocationEvent))()).rejects.toThrow(
      /^ERR_ORG_STATE_WRONG_ORG/,
    );
  });

  it("areRevoked with something other than a list is the claims RangeError", async () => {
    const org = newOrg();
    await runInDurableObject(stub(org), async (instance) => {
      for (const claims of [null, "x", { length: 1 }]) {
        await expect(
          (async () => instance.areRevoked(claims as unknown as RevocableClaims[]))(),
          String(claims),
        ).rejects.toThrow(/^areRevoked takes a list of claims/);
      }
    });
  });

  it("areRevoked with more claims than it judges at once is a RangeError, and the bound itself is answered", async () => {
    const org = newOrg();
    const claims = (n: number): RevocableClaims[] =>
      Array.from({ length: n }, () => ({ jti: crypto.randomUUID(), sub: "u1", client_id: "c1", org_id: org, iat: 1 }));
    await runInDurableObject(stub(org), async (instance) => {
      await expect((async () => instance.areRevoked(claims(MAX_ARE_REVOKED_CLAIMS + 1)))()).rejects.toThrow(
        `areRevoked takes at most ${MAX_ARE_REVOKED_CLAIMS} claims`,
      );
      expect(await instance.areRevoked(claims(MAX_ARE_REVOKED_CLAIMS))).toEqual(
        Array(MAX_ARE_REVOKED_CLAIMS).fill(false),
      );
    });
  });
});

describe("OrgState.revokeToken: claims are checked as isRevoked checks them", () => {
  it("refuses an act chain that loops (structured clone carries cycles) with the claims RangeError, and keeps answering", async () => {
    const org = newOrg();
    const actor: Record<string, unknown> = { client_id: "agent" };
    actor.act = actor;
    const revocation = {
      claims: { jti: "t1", sub: "u1", client_id: "c1", org_id: org, iat: Math.floor(Date.now() / 1000), act: actor },
      expiresAt: Math.floor(Date.now() / 1000) + 600,
      byTokenClient: true,
      reason: "t",
    } as unknown as TokenRevocation;
    // Unchecked, the walk of `act` for the token's clients pushed until the array overflowed: seconds of the
    // org's one thread and gigabytes of its memory, then a RangeError no caller could tell from a bug.
    await expect((async () => stub(org).revokeToken(revocation))()).rejects.toThrow(/^claims need/);
    const snapshot = await stub(org).snapshot(org);
    expect(snapshot.version).toBe(0);
    expect(snapshot.entries).toEqual([]);
  }, 20_000);
});
