import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON as CAP } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { AccessTokenClaims } from "../../shared/contracts/tokens.ts";
import { OrgRevocations } from "../../workers/gateway/src/trust/revocation-index.ts";
import { RevocationView } from "../../workers/gateway/src/trust/revocation-view.ts";

// A gateway view that follows its org's events must not keep a person's
// browser grant entries once the `subject` cut-off that folds them arrives:
// it would otherwise hold every grant entry its channel delivered for an
// hour, while the object's snapshot holds the cut-off and one entry
// (docs/revocation.md, "Bounds"). Dropping them must refuse exactly what
// was refused before.

const now = () => Math.floor(Date.now() / 1000);
const newOrg = () => `org-${crypto.randomUUID()}`;
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));
const grantId = () => `oidc-grant:${crypto.randomUUID()}`;

/** A browser access token of the person's grant, issued ten seconds ago unless `iat` says otherwise. */
function token(orgId: string, sub: string, grant: string, iat = now() - 10): AccessTokenClaims {
  return {
    iss: "i",
    aud: "a",
    sub,
    client_id: "oidc_a",
    org_id: orgId,
    iat,
    exp: iat + 300,
    jti: crypto.randomUUID(),
    grant_id: grant,
  };
}

function revokeGrant(orgId: string, subject: string, id = grantId()) {
  return stub(orgId).revokeBrowserGrant({
    orgId,
    grantId: id,
    clientId: "oidc_a",
    subject,
    reason: "rfc7009 refresh token by oidc_a",
  });
}

/** user_a's cap of grant revocations, user_b's two and an operator's unattributed grant revocation. */
async function revokeUpToTheFold(org: string) {
  const mine = Array.from({ length: CAP }, grantId);
  const theirs = [grantId(), grantId()];
  for (const id of mine) await revokeGrant(org, "user_a", id);
  for (const id of theirs) await revokeGrant(org, "user_b", id);
  await stub(org).revoke({ orgId: org, kind: "grant", value: "delegation-grant-1", reason: "operator" });
  return { mine, theirs };
}

function requestContext() {
  const held: Promise<unknown>[] = [];
  return { waitUntil: (promise: Promise<unknown>) => void held.push(promise.catch(() => undefined)) };
}

describe("a live gateway view and a person's folded browser grant revocations", () => {
  it("drops the person's grant entries when the fold's subject cut-off arrives on the push channel, refusing the same tokens", async () => {
    const org = newOrg();
    const context = requestContext();
    // A bound of a minute: the view follows its channel alone and never pulls during the test.
    const view = new RevocationView(env, { maxStalenessMs: 60_000, maxOrgs: 10, push: { maxAgeMs: 20_000 } });
    expect(await view.isRevoked(token(org, "user_a", grantId()), context)).toBe(false);
    await expect.poll(() => view.openChannels).toBe(1);

    const { mine, theirs } = await revokeUpToTheFold(org);
    await expect.poll(() => view.entriesHeld(org)).toBe(CAP + 2 + 1);

    const folding = grantId();
    expect(await revokeGrant(org, "user_a", folding)).toMatchObject({ recorded: "subject" });
    const { entries } = await stub(org).snapshot(org);
    const cutOff = entries.find((e) => e.kind === "subject" && e.value === "user_a")?.revokedAt as number;
    // The object: the cut-off, the folding grant's entry, user_b's two and the operator's.
    expect(entries).toHaveLength(1 + 1 + 2 + 1);
    await expect.poll(() => view.entriesHeld(org)).toBe(entries.length);

    const check = (claims: AccessTokenClaims) => view.isRevoked(claims, context);
    const refused = async (list: AccessTokenClaims[]) => Promise.all(list.map(check));
    expect({
      droppedGrants: await refused(mine.map((g) => token(org, "user_a", g))),
      foldingGrant: await refused([token(org, "user_a", folding), token(org, "user_a", folding, cutOff + 1)]),
      personsOtherTokens: await refused([token(org, "user_a", grantId())]),
      personAfterTheCutOff: await refused([token(org, "user_a", grantId(), cutOff + 1)]),
      otherPersonRevoked: await refused(theirs.map((g) => token(org, "user_b", g))),
      otherPersonLive: await refused([token(org, "user_b", grantId())]),
    }).toEqual({
      droppedGrants: Array(CAP).fill(true),
      // Its own entry refuses even a token of the grant signed after the cut-off's second.
      foldingGrant: [true, true],
      personsOtherTokens: [true],
      personAfterTheCutOff: [false],
      otherPersonRevoked: [true, true],
      otherPersonLive: [false],
    });
  });

  it("a view from the snapshot that applies the fold's events holds what the new snapshot holds", async () => {
    const org = newOrg();
    const { mine, theirs } = await revokeUpToTheFold(org);
    const view = OrgRevocations.fromSnapshot(await stub(org).snapshot(org));
    expect(view.size).toBe(CAP + 2 + 1);

    const folding = grantId();
    expect(await revokeGrant(org, "user_a", folding)).toMatchObject({ recorded: "subject" });
    const changes = await stub(org).changesSince(view.version);
    if (changes.kind !== "changes") throw new Error(`expected changes, got ${changes.kind}`);
    expect(changes.events.map((e) => [e.kind, e.value, e.client_id, e.subject])).toEqual([
      ["subject", "user_a", undefined, undefined],
      ["grant", folding, "oidc_a", "user_a"],
    ]);
    expect(view.apply(changes.events)).toBe(true);
    const fresh = OrgRevocations.fromSnapshot(await stub(org).snapshot(org));
    expect([view.size, fresh.size]).toEqual([1 + 1 + 2 + 1, 1 + 1 + 2 + 1]);
    const at = now();
    const cutOff = changes.events[0]?.revoked_at ?? 0;
    for (const one of [view, fresh]) {
      expect(mine.every((g) => one.matches(token(org, "user_a", g), at))).toBe(true);
      expect(theirs.every((g) => one.matches(token(org, "user_b", g), at))).toBe(true);
      expect(one.matches(token(org, "user_a", folding, cutOff + 1), at)).toBe(true);
      expect(one.matches(token(org, "user_a", grantId(), cutOff + 1), at)).toBe(false);
      expect(one.matches(token(org, "user_b", grantId()), at)).toBe(false);
      // The operator's grant revocation names no person: held in the shared table, whoever the token's sub.
      expect(one.matches(token(org, "user_c", "delegation-grant-1"), at)).toBe(true);
    }
  });

  it("an operator's subject cut-off of the person drops their grant entries from a following view as from the object", async () => {
    const org = newOrg();
    const mine = [grantId(), grantId(), grantId()];
    for (const id of mine) await revokeGrant(org, "user_a", id);
    const theirs = grantId();
    await revokeGrant(org, "user_b", theirs);
    const view = OrgRevocations.fromSnapshot(await stub(org).snapshot(org));
    await stub(org).revoke({ orgId: org, kind: "subject", value: "user_a", reason: "member-removed" });
    const changes = await stub(org).changesSince(view.version);
    if (changes.kind !== "changes") throw new Error(`expected changes, got ${changes.kind}`);
    expect(view.apply(changes.events)).toBe(true);
    const { entries } = await stub(org).snapshot(org);
    expect(entries.map((e) => [e.kind, e.value])).toEqual(
      expect.arrayContaining([
        ["grant", theirs],
        ["subject", "user_a"],
      ]),
    );
    expect(entries).toHaveLength(2);
    expect(view.size).toBe(entries.length);
    expect(mine.every((g) => view.matches(token(org, "user_a", g), now()))).toBe(true);
  });
});
