import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { AccessTokenClaims } from "../../shared/contracts/tokens.ts";
import { OrgRevocations } from "../../workers/gateway/src/trust/revocation-index.ts";
import { RevocationView } from "../../workers/gateway/src/trust/revocation-view.ts";

// A gateway view that follows its org's events must not keep a client's
// RFC 7009 jti entries once the fold's client cut-off arrives: it would
// otherwise hold every jti its channel ever delivered until each expires
// (the mint limit times the token lifetime per client), while the object's
// snapshot holds the cut-off alone (docs/revocation.md, "Bounds"). Dropping
// them must refuse exactly what was refused before.

const now = () => Math.floor(Date.now() / 1000);
const newOrg = () => `org-${crypto.randomUUID()}`;
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));

function token(orgId: string, clientId: string, iat = now() - 10): AccessTokenClaims {
  return {
    iss: "i",
    aud: "a",
    sub: clientId,
    client_id: clientId,
    org_id: orgId,
    iat,
    exp: iat + 300,
    jti: crypto.randomUUID(),
  };
}

/** RFC 7009 by the token's own client, as the token Worker records it. */
function revokeByItsClient(claims: AccessTokenClaims) {
  return stub(claims.org_id).revokeToken({
    claims: { jti: claims.jti, sub: claims.sub, client_id: claims.client_id, org_id: claims.org_id, iat: claims.iat },
    expiresAt: claims.exp,
    byTokenClient: true,
    reason: `rfc7009 by ${claims.client_id}`,
  });
}

async function revokeAll(tokens: AccessTokenClaims[]): Promise<void> {
  for (let i = 0; i < tokens.length; i += 100) await Promise.all(tokens.slice(i, i + 100).map(revokeByItsClient));
}

/** Collects what a view hands to waitUntil, as a request's context would keep it alive. */
function requestContext() {
  const held: Promise<unknown>[] = [];
  return { waitUntil: (promise: Promise<unknown>) => void held.push(promise.catch(() => undefined)) };
}

/**
 * mac_a revokes its cap of tokens (one of them issued 30 s ahead of the
 * object's clock, which the fold does not cover), mac_b three, and an
 * operator revokes one more mac_a token by its jti (an entry that says
 * nobody's token, as events from before the attribution do). The next
 * revocation by mac_a folds.
 */
async function revokeUpToTheFold(org: string) {
  const aheadOfTheClock = token(org, "mac_a", now() + 30);
  const mine = Array.from({ length: MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT - 1 }, () => token(org, "mac_a"));
  const others = Array.from({ length: 3 }, () => token(org, "mac_b"));
  await revokeAll([...mine, aheadOfTheClock, ...others]);
  const byOperator = token(org, "mac_a", now() + 30);
  await stub(org).revoke({ orgId: org, kind: "jti", value: byOperator.jti, reason: "operator" }, byOperator.exp);
  return { mine, aheadOfTheClock, others, byOperator };
}

/** Whether the view refuses each token, by name. */
async function refusals(
  view: { isRevoked(claims: AccessTokenClaims): Promise<boolean> },
  tokens: Record<string, AccessTokenClaims[]>,
) {
  const out: Record<string, boolean[]> = {};
  for (const [name, list] of Object.entries(tokens)) out[name] = await Promise.all(list.map((t) => view.isRevoked(t)));
  return out;
}

describe("a live gateway view and a client's folded RFC 7009 revocations", () => {
  it("drops the client's entries its cut-off covers when the fold arrives on the push channel, refusing the same tokens", async () => {
    const org = newOrg();
    const context = requestContext();
    // A bound of a minute: the view follows its channel alone and never pulls during the test.
    const view = new RevocationView(env, { maxStalenessMs: 60_000, maxOrgs: 10, push: { maxAgeMs: 20_000 } });
    expect(await view.isRevoked(token(org, "mac_a"), context)).toBe(false);
    await expect.poll(() => view.openChannels).toBe(1);

    const { mine, aheadOfTheClock, others, byOperator } = await revokeUpToTheFold(org);
    // Every entry the channel delivered: mac_a's cap, mac_b's three, the operator's.
    await expect.poll(() => view.entriesHeld(org)).toBe(MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT + 3 + 1);

    const folding = token(org, "mac_a");
    expect(await revokeByItsClient(folding)).toMatchObject({ recorded: "client" });
    const { entries } = await stub(org).snapshot(org);
    const cutOff = entries.find((e) => e.kind === "client" && e.value === "mac_a")?.revokedAt as number;

    // What the view holds now is what the object's snapshot holds: mac_a's cut-off, the
    // entry issued after it, mac_b's three and the operator's (no attribution: kept to its expiry).
    await expect.poll(() => view.entriesHeld(org)).toBe(1 + 1 + 3 + 1);
    expect(entries.length).toBe(1 + 1 + 3 + 1);
    const check = { isRevoked: (claims: AccessTokenClaims) => view.isRevoked(claims, context) };
    expect(
      await refusals(check, {
        revokedBeforeTheFold: [...mine, folding],
        revokedAheadOfTheCutOff: [aheadOfTheClock],
        revokedByAnOperator: [byOperator],
        otherClientsRevoked: others,
        otherClientsNotRevoked: [token(org, "mac_b")],
        issuedTheSecondAfter: [token(org, "mac_a", cutOff + 1)],
      }),
    ).toEqual({
      revokedBeforeTheFold: Array(MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT).fill(true),
      revokedAheadOfTheCutOff: [true],
      revokedByAnOperator: [true],
      otherClientsRevoked: [true, true, true],
      otherClientsNotRevoked: [false],
      issuedTheSecondAfter: [false],
    });
  });

  it("drops them from a view started from the snapshot too, which says whose token each entry is", async () => {
    const org = newOrg();
    const { mine, others } = await revokeUpToTheFold(org);
    const view = OrgRevocations.fromSnapshot(await stub(org).snapshot(org));
    expect(view.size).toBe(MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT + 3 + 1);

    expect(await revokeByItsClient(token(org, "mac_a"))).toMatchObject({ recorded: "client" });
    const changes = await stub(org).changesSince(view.version);
    if (changes.kind !== "changes") throw new Error(`expected changes, got ${changes.kind}`);
    // The fold's jti event says whose token it is; its client event follows.
    expect(changes.events.map((e) => [e.kind, e.value, e.client_id])).toEqual([
      ["jti", expect.any(String), "mac_a"],
      ["client", "mac_a", undefined],
    ]);
    expect(view.apply(changes.events)).toBe(true);
    expect(view.size).toBe(1 + 1 + 3 + 1);
    const at = now();
    expect(mine.every((t) => view.matches(t, at))).toBe(true);
    expect(others.every((t) => view.matches(t, at))).toBe(true);
    expect(view.matches(token(org, "mac_b"), at)).toBe(false);
  });
});
