// A grant's revocation is recorded first with a slack, then D1 marks it
// (workers/token/src/revocations/grant-revocation.ts). When the mark takes
// longer than the slack relies on, a mint that read the grant `active` just
// before D1 changed carries an `iat` the entry (recorded the longest token
// lifetime plus the slack before) might not outlive: the grant is recorded
// again, after D1 says revoked.
//
// The routes pass GRANT_RECORDING_SLACK_SECONDS (60 s, of which 50 are
// relied on), which no test waits out. So revokeGrantRecordedFirst is
// called here as the delegation-grant route calls it — the org's real
// object, the real D1 write — with a slack of which only one second is
// relied on, and the mark really takes longer: it waits 1.1 s before its
// D1 write.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CLOCK_TOLERANCE_SECONDS, MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../shared/contracts/tokens.ts";
import { revokeDelegationGrant } from "../../workers/token/src/grants/delegation-grants.ts";
import {
  revokeGrantRecordedFirst,
  SLACK_MARGIN_SECONDS,
} from "../../workers/token/src/revocations/grant-revocation.ts";
import { delegatedWorld, expectOutlivesEveryToken, grantEvents } from "./grant-revocation-fixtures.ts";
import { introspected } from "./revocation-fixtures.ts";

const LIFETIME = MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS;

/** Revokes the grant as DELETE /orgs/{org}/delegation-grants/{id} does, with `slackSeconds` and a mark `delayMs` late. */
async function revoke(orgId: string, grantId: string, slackSeconds: number, delayMs: number) {
  const background: Promise<unknown>[] = [];
  let markedAt = Number.NaN;
  const grant = await revokeGrantRecordedFirst(
    env,
    { orgId, grantId, reason: "delegation grant revoked" },
    (promise) => background.push(promise),
    {
      markRevoked: async () => {
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        const marked = await revokeDelegationGrant(env.DB, orgId, grantId);
        markedAt = Date.now();
        return marked;
      },
    },
    slackSeconds,
  );
  await Promise.all(background);
  return { grant, markedAt };
}

describe("a grant's D1 mark slower than the slack: recorded again after D1 says revoked", () => {
  it("two events, the second no earlier than the mark, so the entry outlives every token minted before it", async () => {
    const { orgId, agent, grant, delegated } = await delegatedWorld();
    const { grant: revoked, markedAt } = await revoke(orgId, grant.id, SLACK_MARGIN_SECONDS + 1, 1_100);
    expect(revoked?.status).toBe("revoked");

    const [first, second, ...more] = await grantEvents(orgId, grant.id);
    expect(more).toEqual([]);
    expect((first?.expires_at ?? 0) - (first?.revoked_at ?? 0)).toBe(LIFETIME + SLACK_MARGIN_SECONDS + 1);
    // Recorded after D1 answered, without slack: it needs none.
    expect(second?.revoked_at).toBeGreaterThanOrEqual(Math.floor(markedAt / 1000));
    expect((second?.expires_at ?? 0) - (second?.revoked_at ?? 0)).toBe(LIFETIME);
    await expectOutlivesEveryToken(orgId, grant.id, markedAt);
    expect(await introspected(delegated, agent)).toEqual({ active: false });
  });

  it("a slack smaller than the margin is not relied on at all: recorded again however fast D1 was", async () => {
    const { orgId, grant } = await delegatedWorld();
    const { grant: revoked, markedAt } = await revoke(orgId, grant.id, 0, 0);
    expect(revoked?.status).toBe("revoked");
    const events = await grantEvents(orgId, grant.id);
    expect(events).toHaveLength(2);
    expect(events[1]?.revoked_at).toBeGreaterThanOrEqual(Math.floor(markedAt / 1000));
  });
});
