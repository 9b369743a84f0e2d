import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON as CAP,
  clientSubjectValue,
  type RevocationEntry,
  type RevocationKind,
  type RevocationLogEvent,
} from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { type AccessTokenClaims, CLOCK_TOLERANCE_SECONDS as TOLERANCE } from "../../shared/contracts/tokens.ts";
import { OrgRevocations, UnreadableRevocationError } from "../../workers/gateway/src/trust/revocation-index.ts";
import { RevocationView } from "../../workers/gateway/src/trust/revocation-view.ts";

// A gateway view that follows its org's events must not keep a person's
// browser grant entries for a client once the `client_subject` cut-off that
// folds them arrives: it would otherwise hold every grant entry its channel
// delivered for an hour, while the object's snapshot holds the cut-off and
// one entry (docs/revocation.md, "Bounds"). Dropping them must refuse
// exactly what was refused before, and the cut-off must leave the person's
// tokens at other clients alone. Both drop only the entries the cut-off covers with
// the clock tolerance to spare; the object here runs in its own Worker, on
// the real clock, so which of a test's entries are that old is read from
// the object's own seconds (`coveredBy`), never assumed.

const now = () => Math.floor(Date.now() / 1000);
const newOrg = () => `org-${crypto.randomUUID()}`;
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));
const grantId = () => `oidc-grant:${crypto.randomUUID()}`;

/** A browser access token of the person's grant, issued ten seconds ago unless `iat` says otherwise. */
function token(orgId: string, sub: string, grant: string, iat = now() - 10, clientId = "oidc_a"): AccessTokenClaims {
  return {
    iss: "i",
    aud: "a",
    sub,
    client_id: clientId,
    org_id: orgId,
    iat,
    exp: iat + 300,
    jti: crypto.randomUUID(),
    grant_id: grant,
  };
}

function revokeGrant(orgId: string, subject: string, id = grantId(), clientId = "oidc_a") {
  return stub(orgId).revokeBrowserGrant({
    orgId,
    grantId: id,
    clientId,
    subject,
    reason: `rfc7009 refresh token by ${clientId}`,
  });
}

/** user_a's cut-off value at oidc_a, the fold's. */
const A_AT_A = clientSubjectValue("oidc_a", "user_a");

/** user_a's cap of grant revocations, user_b's two and an operator's unattributed grant revocation. */
async function revokeUpToTheFold(org: string) {
  const mine = Array.from({ length: CAP }, grantId);
  const theirs = [grantId(), grantId()];
  for (const id of mine) await revokeGrant(org, "user_a", id);
  for (const id of theirs) await revokeGrant(org, "user_b", id);
  await stub(org).revoke({ orgId: org, kind: "grant", value: "delegation-grant-1", reason: "operator" });
  return { mine, theirs };
}

/** The person's browser grant entries, by grant. */
const grantsOf = (entries: RevocationEntry[], subject: string) =>
  new Map(entries.filter((e) => e.kind === "grant" && e.subject === subject).map((e) => [e.value, e.revokedAt]));

/** Of `recorded` (grant → its entry's second), the grants a cut-off at `cutOff` drops: covered with the margin. */
const coveredBy = (recorded: Map<string, number>, cutOff: number) =>
  new Set([...recorded].filter(([, at]) => at <= cutOff - TOLERANCE).map(([grant]) => grant));

function requestContext() {
  const held: Promise<unknown>[] = [];
  return { waitUntil: (promise: Promise<unknown>) => void held.push(promise.catch(() => undefined)) };
}

describe("a live gateway view and a person's folded browser grant revocations", () => {
  it("drops the person's grant entries for the client when the fold's cut-off arrives on the push channel, refusing the same tokens", async () => {
    const org = newOrg();
    const context = requestContext();
    // A bound of a minute: the view follows its channel alone and never pulls during the test.
    const view = new RevocationView(env, { maxStalenessMs: 60_000, maxOrgs: 10, push: { maxAgeMs: 20_000 } });
    expect(await view.isRevoked(token(org, "user_a", grantId()), context)).toBe(false);
    await expect.poll(() => view.openChannels).toBe(1);

    const { mine, theirs } = await revokeUpToTheFold(org);
    // The person's grant to another client, revoked: not the fold's to drop.
    const atB = grantId();
    await revokeGrant(org, "user_a", atB, "oidc_b");
    await expect.poll(() => view.entriesHeld(org)).toBe(CAP + 2 + 1 + 1);
    const recorded = grantsOf((await stub(org).snapshot(org)).entries, "user_a");
    recorded.delete(atB);

    const folding = grantId();
    expect(await revokeGrant(org, "user_a", folding)).toMatchObject({ recorded: "client_subject" });
    const { entries } = await stub(org).snapshot(org);
    const cutOff = entries.find((e) => e.kind === "client_subject" && e.value === A_AT_A)?.revokedAt as number;
    // The object: the cut-off, the folding grant's entry, the person's entries younger than the margin,
    // their oidc_b one, user_b's two and the operator's.
    const dropped = coveredBy(recorded, cutOff);
    const kept = mine.filter((g) => !dropped.has(g));
    expect(new Set(grantsOf(entries, "user_a").keys())).toEqual(new Set([...kept, folding, atB]));
    expect(entries).toHaveLength(1 + 1 + kept.length + 1 + 2 + 1);
    await expect.poll(() => view.entriesHeld(org)).toBe(entries.length);

    const check = (claims: AccessTokenClaims) => view.isRevoked(claims, context);
    const refused = async (list: AccessTokenClaims[]) => Promise.all(list.map(check));
    expect({
      droppedGrants: await refused(mine.map((g) => token(org, "user_a", g))),
      foldingGrant: await refused([token(org, "user_a", folding), token(org, "user_a", folding, cutOff + 1)]),
      personsOtherTokensAtTheClient: await refused([token(org, "user_a", grantId())]),
      personAtAnotherClient: await refused([token(org, "user_a", grantId(), now() - 10, "oidc_b")]),
      personsRevokedGrantAtAnotherClient: await refused([token(org, "user_a", atB, now() - 10, "oidc_b")]),
      personAfterTheCutOff: await refused([token(org, "user_a", grantId(), cutOff + 1)]),
      otherPersonRevoked: await refused(theirs.map((g) => token(org, "user_b", g))),
      otherPersonLive: await refused([token(org, "user_b", grantId())]),
    }).toEqual({
      droppedGrants: Array(CAP).fill(true),
      // Its own entry refuses even a token of the grant signed after the cut-off's second.
      foldingGrant: [true, true],
      personsOtherTokensAtTheClient: [true],
      personAtAnotherClient: [false],
      personsRevokedGrantAtAnotherClient: [true],
      personAfterTheCutOff: [false],
      otherPersonRevoked: [true, true],
      otherPersonLive: [false],
    });
  });

  it("a view from the snapshot that applies the fold's events holds what the new snapshot holds", async () => {
    const org = newOrg();
    const { mine, theirs } = await revokeUpToTheFold(org);
    const before = await stub(org).snapshot(org);
    const view = OrgRevocations.fromSnapshot(before);
    expect(view.size).toBe(CAP + 2 + 1);

    const folding = grantId();
    expect(await revokeGrant(org, "user_a", folding)).toMatchObject({ recorded: "client_subject" });
    const changes = await stub(org).changesSince(view.version);
    if (changes.kind !== "changes") throw new Error(`expected changes, got ${changes.kind}`);
    expect(changes.events.map((e) => [e.kind, e.value, e.client_id, e.subject])).toEqual([
      ["client_subject", A_AT_A, "oidc_a", "user_a"],
      ["grant", folding, "oidc_a", "user_a"],
    ]);
    expect(view.apply(changes.events)).toBe(true);
    const after = await stub(org).snapshot(org);
    const fresh = OrgRevocations.fromSnapshot(after);
    const cutOff = changes.events[0]?.revoked_at ?? 0;
    const held = 1 + 1 + CAP - coveredBy(grantsOf(before.entries, "user_a"), cutOff).size + 2 + 1;
    expect([after.entries.length, view.size, fresh.size]).toEqual([held, held, held]);
    const at = now();
    for (const one of [view, fresh]) {
      expect(mine.every((g) => one.matches(token(org, "user_a", g), at))).toBe(true);
      expect(theirs.every((g) => one.matches(token(org, "user_b", g), at))).toBe(true);
      expect(one.matches(token(org, "user_a", folding, cutOff + 1), at)).toBe(true);
      expect(one.matches(token(org, "user_a", grantId(), cutOff + 1), at)).toBe(false);
      expect(one.matches(token(org, "user_a", grantId(), cutOff - 1, "oidc_b"), at)).toBe(false);
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
    const before = await stub(org).snapshot(org);
    const view = OrgRevocations.fromSnapshot(before);
    await stub(org).revoke({ orgId: org, kind: "subject", value: "user_a", reason: "member-removed" });
    const changes = await stub(org).changesSince(view.version);
    if (changes.kind !== "changes") throw new Error(`expected changes, got ${changes.kind}`);
    expect(view.apply(changes.events)).toBe(true);
    const { entries } = await stub(org).snapshot(org);
    const cutOff = changes.events[0]?.revoked_at ?? 0;
    const dropped = coveredBy(grantsOf(before.entries, "user_a"), cutOff);
    expect(entries.map((e) => [e.kind, e.value])).toEqual(
      expect.arrayContaining([
        ["grant", theirs],
        ["subject", "user_a"],
        ...mine.filter((g) => !dropped.has(g)).map((g) => ["grant", g]),
      ]),
    );
    expect(entries).toHaveLength(2 + mine.length - dropped.size);
    expect(view.size).toBe(entries.length);
    expect(mine.every((g) => view.matches(token(org, "user_a", g), now()))).toBe(true);
  });

  it("keeps a person's grant entries younger than the clock tolerance when their cut-off arrives, and they still refuse their tokens", () => {
    const org = newOrg();
    const cutOff = now();
    const expiresAt = cutOff + 3600;
    // Entries of the person's grants at the margin's edge and inside it, as the object records them.
    const seconds = { older: cutOff - TOLERANCE - 1, edge: cutOff - TOLERANCE, inside: cutOff - TOLERANCE + 1 };
    const entry = (grant: string, revokedAt: number): RevocationEntry => ({
      kind: "grant",
      value: grant,
      revokedAt,
      expiresAt,
      clientId: "oidc_a",
      subject: "user_a",
    });
    const view = OrgRevocations.fromSnapshot({
      orgId: org,
      version: 3,
      policyVersion: null,
      entries: Object.entries(seconds).map(([grant, at]) => entry(grant, at)),
    });
    const cut: RevocationLogEvent = {
      seq: 4,
      kind: "subject",
      value: "user_a",
      revoked_at: cutOff,
      expires_at: expiresAt,
      reason: "member-removed",
    };
    expect(view.apply([cut])).toBe(true);
    // The cut-off, and the one entry it does not cover with the margin.
    expect(view.size).toBe(2);
    expect({
      // A dropped grant's tokens were signed before its entry, by a clock at most the tolerance ahead.
      older: view.matches(token(org, "user_a", "older", seconds.older + TOLERANCE), cutOff),
      edge: view.matches(token(org, "user_a", "edge", seconds.edge + TOLERANCE), cutOff),
      // The kept one's may carry an iat past the cut-off's second: its own entry refuses them.
      inside: view.matches(token(org, "user_a", "inside", seconds.inside + TOLERANCE), cutOff),
      // The person's new grant after the cut-off lives.
      fresh: view.matches(token(org, "user_a", "fresh", cutOff + 1), cutOff),
    }).toEqual({ older: true, edge: true, inside: true, fresh: false });
  });
  it("a client_subject cut-off drops only that client's grant entries of the person; a subject cut-off drops every client's", () => {
    const org = newOrg();
    const cutOff = now();
    const expiresAt = cutOff + 3600;
    const old = cutOff - TOLERANCE - 1;
    const entry = (grant: string, clientId: string, subject = "user_a"): RevocationEntry => ({
      kind: "grant",
      value: grant,
      revokedAt: old,
      expiresAt,
      clientId,
      subject,
    });
    const view = OrgRevocations.fromSnapshot({
      orgId: org,
      version: 1,
      policyVersion: null,
      entries: [entry("g-a", "oidc_a"), entry("g-b", "oidc_b"), entry("g-other", "oidc_a", "user_b")],
    });
    const event = (seq: number, kind: RevocationKind, value: string): RevocationLogEvent => ({
      seq,
      kind,
      value,
      revoked_at: cutOff,
      expires_at: expiresAt,
      reason: "test",
    });
    expect(view.apply([{ ...event(2, "client_subject", A_AT_A), client_id: "oidc_a", subject: "user_a" }])).toBe(true);
    // The cut-off, user_a's oidc_b entry and user_b's.
    expect(view.size).toBe(3);
    const at = now();
    expect({
      droppedGrantsToken: view.matches(token(org, "user_a", "g-a", old), at),
      otherClientsRevokedGrant: view.matches(token(org, "user_a", "g-b", old, "oidc_b"), at),
      otherClientsLiveGrant: view.matches(token(org, "user_a", "g-live", old, "oidc_b"), at),
      otherPersonAtTheClient: view.matches(token(org, "user_b", "g-live", old), at),
      otherPersonsRevokedGrant: view.matches(token(org, "user_b", "g-other", old), at),
    }).toEqual({
      droppedGrantsToken: true,
      otherClientsRevokedGrant: true,
      otherClientsLiveGrant: false,
      otherPersonAtTheClient: false,
      otherPersonsRevokedGrant: true,
    });
    expect(view.apply([event(3, "subject", "user_a")])).toBe(true);
    // The subject cut-off joins; user_a's oidc_b entry goes.
    expect(view.size).toBe(3);
    expect(view.matches(token(org, "user_a", "g-b", old, "oidc_b"), at)).toBe(true);
  });

  it("a token delegated to another client from a browser grant is refused by a client_subject cut-off of its person at that grant's client, and by any one when it does not name the client", () => {
    const org = newOrg();
    const cutOff = now();
    const view = OrgRevocations.fromSnapshot({
      orgId: org,
      version: 1,
      policyVersion: null,
      entries: [
        {
          kind: "client_subject",
          value: A_AT_A,
          revokedAt: cutOff,
          expiresAt: cutOff + 3600,
          clientId: "oidc_a",
          subject: "user_a",
        },
      ],
    });
    const exchanged = (
      delegated: boolean,
      chain: string[],
      sub = "user_a",
      iat = cutOff - 10,
      clients?: Record<string, string>,
    ): AccessTokenClaims => ({
      ...token(org, sub, "", iat, "mac_agent"),
      grant_id: "delegation-grant-1",
      grant_chain: chain,
      ...(clients ? { grant_chain_clients: clients } : {}),
      ...(delegated ? { act: { sub: "mac_agent", client_id: "mac_agent" } } : {}),
    });
    const named = (client: string, sub = "user_a", iat = cutOff - 10) => {
      const grant = grantId();
      return exchanged(true, ["delegation-grant-0", grant], sub, iat, { [grant]: client });
    };
    const at = now();
    expect({
      // Signed before `grant_chain_clients`: which client's browser grant it rests on is unknown: refused.
      delegatedFromBrowserGrant: view.matches(exchanged(true, [grantId()]), at),
      // It names the grant's client: refused at the cut-off's client, kept at another.
      delegatedFromGrantAtTheClient: view.matches(named("oidc_a"), at),
      delegatedFromGrantAtAnotherClient: view.matches(named("oidc_b"), at),
      namedAnotherPerson: view.matches(named("oidc_a", "user_b"), at),
      namedAfterTheCutOff: view.matches(named("oidc_a", "user_a", cutOff + 1), at),
      // Not delegated, another client: it is that client's own (client continuity): kept.
      narrowedAtAnotherClient: view.matches(exchanged(false, [grantId()]), at),
      // Delegated, resting on delegation grants only: kept.
      delegatedFromDelegationGrant: view.matches(exchanged(true, ["delegation-grant-0"]), at),
      anotherPerson: view.matches(exchanged(true, [grantId()], "user_b"), at),
      afterTheCutOff: view.matches(exchanged(true, [grantId()], "user_a", cutOff + 1), at),
    }).toEqual({
      delegatedFromBrowserGrant: true,
      delegatedFromGrantAtTheClient: true,
      delegatedFromGrantAtAnotherClient: false,
      namedAnotherPerson: false,
      namedAfterTheCutOff: false,
      narrowedAtAnotherClient: false,
      delegatedFromDelegationGrant: false,
      anotherPerson: false,
      afterTheCutOff: false,
    });
  });

  it("fails closed on a kind it does not know: no view is built from such a snapshot, and such an event is a gap", () => {
    const org = newOrg();
    const at = now();
    const unknown = { kind: "person_at_device" as RevocationKind, value: "x", revokedAt: at, expiresAt: at + 60 };
    expect(() =>
      OrgRevocations.fromSnapshot({ orgId: org, version: 1, policyVersion: null, entries: [unknown] }),
    ).toThrow(UnreadableRevocationError);
    // A client_subject value that names no pair is not read as anything else either.
    const malformed = { ...unknown, kind: "client_subject" as RevocationKind, value: "oidc_a:user_a" };
    expect(() =>
      OrgRevocations.fromSnapshot({ orgId: org, version: 1, policyVersion: null, entries: [malformed] }),
    ).toThrow(UnreadableRevocationError);
    const view = OrgRevocations.fromSnapshot({ orgId: org, version: 1, policyVersion: null, entries: [] });
    const event = { seq: 2, value: "x", revoked_at: at, expires_at: at + 60, reason: "r" };
    expect(view.apply([{ ...event, kind: "person_at_device" as RevocationKind }])).toBe(false);
    expect(view.apply([{ ...event, kind: "client_subject", value: "oidc_a:user_a" }])).toBe(false);
    expect(view.version).toBe(1);
  });
});
