import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type BrowserGrantRevocation,
  MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON as CAP,
  clientSubjectValue,
  type RevocableClaims,
} from "../../shared/contracts/revocation.ts";
import { ORG_STATE_META, orgStateName } from "../../shared/contracts/storage-keys.ts";
import { CLOCK_TOLERANCE_SECONDS as TOLERANCE } from "../../shared/contracts/tokens.ts";
import { migrateGrantColumns } from "../../workers/org-state/src/browser-grant-revocation.ts";
import type { OrgState } from "../../workers/org-state/src/org-state.ts";
import { ENTRY_ACCOUNTING_TRIGGERS, installEntryAccounting } from "../../workers/org-state/src/revocation-capacity.ts";
import { ERR_ORG_STATE_WRONG_ORG, OrgMismatchError } from "../../workers/org-state/src/own-org.ts";

// One person authorizing a browser client and revoking its refresh token,
// over and over, leaves one `grant` entry per authorization for an hour.
// Past MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON of theirs for one
// client, the org's object cuts that person off at that client instead (a
// `client_subject` cut-off) and drops their grant entries for it that the
// cut-off covers, so no member can bring the org to its cap of live
// revocations (docs/revocation.md, "Bounds"), and no client can end the
// person's tokens at another client by ending its own grants. Only entries
// the cut-off covers with the clock tolerance to spare go: a token's `iat`
// is the signer's clock, the cut-off's second the object's.

/**
 * The object runs in this isolate, so its clock is the test's: it stands
 * still until advanced, and "recorded more than the tolerance before the
 * fold" holds however slowly a loaded machine runs the steps between.
 * Only Date is faked; timers and I/O run as usual.
 */
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Math.floor(Date.now() / 1000) * 1000);
});
afterEach(() => {
  vi.useRealTimers();
});
/** Moves the object's (and the test's) clock `seconds` on. */
function advance(seconds: number): void {
  vi.setSystemTime(Date.now() + seconds * 1000);
}

const now = () => Math.floor(Date.now() / 1000);
const newOrg = () => `org-${crypto.randomUUID()}`;
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));
const grantId = () => `oidc-grant:${crypto.randomUUID()}`;
/** The fold's cut-off value for user_a at oidc_a (the default client). */
const A_AT_A = clientSubjectValue("oidc_a", "user_a");

function revokeGrant(orgId: string, subject: string, clientId = "oidc_a", id = grantId()) {
  const revocation: BrowserGrantRevocation = {
    orgId,
    grantId: id,
    clientId,
    subject,
    reason: `rfc7009 refresh token by ${clientId}`,
  };
  return stub(orgId).revokeBrowserGrant(revocation);
}

/** `count` of the person's grants to the client revoked, one RPC each as the token Worker does; their ids. */
async function revokeMany(orgId: string, subject: string, count: number, clientId = "oidc_a"): Promise<string[]> {
  const ids = Array.from({ length: count }, grantId);
  for (const id of ids) await revokeGrant(orgId, subject, clientId, id);
  return ids;
}

/** A browser access token of the grant, issued ten seconds ago unless `iat` says otherwise. */
function browserToken(
  orgId: string,
  sub: string,
  grant: string,
  iat = now() - 10,
  clientId = "oidc_a",
): RevocableClaims {
  return { jti: crypto.randomUUID(), sub, client_id: clientId, org_id: orgId, iat, grant_id: grant };
}

/**
 * A token exchanged from a browser token of `grant`, issued to `clientId`:
 * with an actor (a delegation, RFC 8693 §4.1) or without (the same client narrowing its own);
 * `grantClient`, the browser grant's client it names (`grant_chain_clients`), or none (signed before the claim).
 */
function exchangedToken(
  orgId: string,
  grant: string,
  clientId: string,
  delegated: boolean,
  grantClient?: string,
): RevocableClaims {
  return {
    jti: crypto.randomUUID(),
    sub: "user_a",
    client_id: clientId,
    org_id: orgId,
    iat: now() - 10,
    ...(delegated ? { act: { sub: clientId, client_id: clientId }, grant_id: "delegation-grant-9" } : {}),
    grant_chain: [grant],
    ...(grantClient !== undefined ? { grant_chain_clients: { [grant]: grantClient } } : {}),
  };
}

async function entriesOf(orgId: string) {
  const { entries, version } = await stub(orgId).snapshot(orgId);
  return { entries, version, grants: entries.filter((e) => e.kind === "grant") };
}

describe("OrgState.revokeBrowserGrant: one person's browser grant entries for a client fold at the cap", () => {
  it("records up to the cap as attributed grant entries, then a client_subject cut-off of the person at the client that drops them, in one step", async () => {
    const org = newOrg();
    const mine = await revokeMany(org, "user_a", CAP);
    const theirs = await revokeMany(org, "user_b", 3);
    await stub(org).revoke({ orgId: org, kind: "jti", value: "an-operators-jti", reason: "operator" });
    await stub(org).revoke({ orgId: org, kind: "grant", value: "delegation-grant-1", reason: "operator" });
    const before = await entriesOf(org);
    expect(before.grants).toHaveLength(CAP + 3 + 1);
    expect(before.grants.find((e) => e.value === mine[0])).toEqual({
      kind: "grant",
      value: mine[0],
      revokedAt: expect.any(Number),
      expiresAt: expect.any(Number),
      clientId: "oidc_a",
      subject: "user_a",
    });
    // Not attributed: an operator's grant revocation says nobody's grant.
    expect(before.grants.find((e) => e.value === "delegation-grant-1")).not.toHaveProperty("subject");

    // The fold comes the tolerance after the person's entries: the cut-off covers them all with it to spare.
    advance(TOLERANCE);
    const last = grantId();
    const outcome = await revokeGrant(org, "user_a", "oidc_a", last);
    expect(outcome).toEqual({ version: before.version + 2, recorded: "client_subject" });

    const after = await entriesOf(org);
    expect(after.entries.some((e) => e.kind === "subject")).toBe(false);
    const cutOff = after.entries.filter((e) => e.kind === "client_subject");
    expect(cutOff).toEqual([
      {
        kind: "client_subject",
        value: '["oidc_a","user_a"]',
        revokedAt: expect.any(Number),
        expiresAt: expect.any(Number),
        clientId: "oidc_a",
        subject: "user_a",
      },
    ]);
    // The person's entries are gone but the one that folded them; the other person's, the
    // operator's grant and jti entries are untouched.
    expect(new Set(after.grants.map((e) => e.value))).toEqual(new Set([last, ...theirs, "delegation-grant-1"]));
    expect(after.entries.filter((e) => e.kind === "jti").map((e) => e.value)).toEqual(["an-operators-jti"]);
    const kept = after.grants.find((e) => e.value === last);
    expect(kept).toMatchObject({ clientId: "oidc_a", subject: "user_a", revokedAt: cutOff[0]?.revokedAt });

    // The log: the cut-off first, then the grant's own event, so a view that follows it drops then adds.
    const changes = await stub(org).changesSince(before.version);
    expect(changes).toEqual({
      kind: "changes",
      version: before.version + 2,
      more: false,
      events: [
        {
          seq: before.version + 1,
          kind: "client_subject",
          value: A_AT_A,
          revoked_at: cutOff[0]?.revokedAt,
          expires_at: cutOff[0]?.expiresAt,
          reason: `rfc7009 refresh token by oidc_a (folded: the person holds ${CAP} live grant revocations for oidc_a)`,
          client_id: "oidc_a",
          subject: "user_a",
        },
        {
          seq: before.version + 2,
          kind: "grant",
          value: last,
          revoked_at: cutOff[0]?.revokedAt,
          expires_at: kept?.expiresAt,
          reason: "rfc7009 refresh token by oidc_a",
          client_id: "oidc_a",
          subject: "user_a",
        },
      ],
    });
  });

  it("the person's tokens at the client issued up to the cut-off are refused; theirs at another client, and another person's, are not", async () => {
    const org = newOrg();
    const mine = await revokeMany(org, "user_a", CAP);
    const theirs = await revokeMany(org, "user_b", 2);
    const atB = await revokeMany(org, "user_a", 2, "oidc_b");
    advance(TOLERANCE);
    expect((await revokeGrant(org, "user_a")).recorded).toBe("client_subject");
    const other = grantId();
    const checks: [string, RevocableClaims, boolean][] = [
      // A dropped grant's token, and one of a grant at the client never revoked: refused by the cut-off.
      ["dropped grant", browserToken(org, "user_a", mine[0] ?? ""), true],
      ["live grant at the client", browserToken(org, "user_a", grantId()), true],
      // The same client narrowing its own token (no actor): it keeps the client's id.
      ["exchanged at the client", exchangedToken(org, mine[1] ?? "", "oidc_a", false), true],
      // Delegated to another client from a browser grant, naming its client: refused when it is the cut-off's.
      ["delegated from a dropped grant", exchangedToken(org, mine[2] ?? "", "mac_agent", true, "oidc_a"), true],
      ["delegated from a live grant at the client", exchangedToken(org, other, "mac_agent", true, "oidc_a"), true],
      ["delegated from a grant at oidc_b", exchangedToken(org, other, "mac_agent", true, "oidc_b"), false],
      // Signed before `grant_chain_clients`: the token does not say whose grant; refused (fail closed).
      ["old shape, delegated from a dropped grant", exchangedToken(org, mine[2] ?? "", "mac_agent", true), true],
      ["old shape, delegated from another client's grant", exchangedToken(org, other, "mac_agent", true), true],
      // The person at another client: a live grant, a narrowed token of it, a token without a grant.
      ["live grant at oidc_b", browserToken(org, "user_a", other, now() - 10, "oidc_b"), false],
      ["exchanged at oidc_b", exchangedToken(org, other, "oidc_b", false), false],
      [
        "no grant at mac_agent",
        { ...browserToken(org, "user_a", ""), client_id: "mac_agent", grant_id: undefined },
        false,
      ],
      // Their revoked grants at oidc_b stay refused by their own entries.
      ["revoked grant at oidc_b", browserToken(org, "user_a", atB[0] ?? "", now() - 10, "oidc_b"), true],
      // The other person: their revoked grant still refused, a live one not.
      ["other person revoked", browserToken(org, "user_b", theirs[0] ?? ""), true],
      ["other person live", browserToken(org, "user_b", grantId()), false],
      // The person at the client after the cut-off's second.
      ["after the cut-off", browserToken(org, "user_a", grantId(), now() + 1), false],
    ];
    const answers = await stub(org).areRevoked(checks.map(([, claims]) => claims));
    expect(checks.map(([name], i) => [name, answers[i]])).toEqual(checks.map(([name, , refused]) => [name, refused]));
    // The person again, in another org: not this org's cut-off.
    const elsewhere = browserToken(newOrg(), "user_a", grantId());
    expect(await stub(elsewhere.org_id).isRevoked(elsewhere)).toBe(false);
  });

  it("each client counts on its own, and the cut-off drops the person's entries of that client only", async () => {
    const org = newOrg();
    await revokeMany(org, "user_a", CAP - 1, "oidc_a");
    const atB = await revokeMany(org, "user_a", CAP, "oidc_b");
    // oidc_a holds CAP - 1 of the person's: its next is still an entry.
    expect((await revokeGrant(org, "user_a", "oidc_a")).recorded).toBe("grant");
    expect((await entriesOf(org)).grants).toHaveLength(2 * CAP);
    advance(TOLERANCE);
    const last = grantId();
    expect((await revokeGrant(org, "user_a", "oidc_a", last)).recorded).toBe("client_subject");
    expect(new Set((await entriesOf(org)).grants.map((e) => e.value))).toEqual(new Set([last, ...atB]));
    // The count starts again: CAP - 1 more are entries, the CAP-th after the kept one folds again.
    await revokeMany(org, "user_a", CAP - 1, "oidc_a");
    advance(TOLERANCE);
    expect((await revokeGrant(org, "user_a", "oidc_a")).recorded).toBe("client_subject");
    expect((await entriesOf(org)).grants).toHaveLength(1 + CAP);
    expect((await entriesOf(org)).entries.filter((e) => e.kind === "client_subject")).toHaveLength(1);
    // oidc_b's own fold is its own cut-off, and drops its entries alone.
    expect((await revokeGrant(org, "user_a", "oidc_b")).recorded).toBe("client_subject");
    const { entries, grants } = await entriesOf(org);
    expect(
      entries
        .filter((e) => e.kind === "client_subject")
        .map((e) => e.value)
        .sort(),
    ).toEqual([A_AT_A, clientSubjectValue("oidc_b", "user_a")].sort());
    expect(grants.filter((e) => e.clientId === "oidc_a")).toHaveLength(1);
    expect(grants.filter((e) => e.clientId === "oidc_b")).toHaveLength(1);
  });

  it("revoking a grant whose entry is live again (a retry, a reuse after revocation) adds nothing and never folds", async () => {
    const org = newOrg();
    const mine = await revokeMany(org, "user_a", CAP);
    const before = await entriesOf(org);
    expect(await revokeGrant(org, "user_a", "oidc_a", mine[3])).toEqual({
      version: before.version + 1,
      recorded: "grant",
    });
    const after = await entriesOf(org);
    expect(after.grants).toHaveLength(CAP);
    expect(after.entries.some((e) => e.kind === "client_subject")).toBe(false);
  });

  it("any subject cut-off of the person (an operator's too) drops their grant entries of every client, as a gateway view does", async () => {
    const org = newOrg();
    const mine = [...(await revokeMany(org, "user_a", 3)), ...(await revokeMany(org, "user_a", 2, "oidc_b"))];
    const theirs = await revokeMany(org, "user_b", 2);
    advance(TOLERANCE);
    await stub(org).revoke({ orgId: org, kind: "subject", value: "user_a", reason: "member-removed" });
    const after = await entriesOf(org);
    expect(new Set(after.grants.map((e) => e.value))).toEqual(new Set(theirs));
    expect(await stub(org).areRevoked(mine.map((g) => browserToken(org, "user_a", g)))).toEqual(mine.map(() => true));
  });

  it("refuses a client_subject revocation asked of revoke(): only a fold records one, with whose it is", async () => {
    const org = newOrg();
    await runInDurableObject(stub(org), async (instance: OrgState) => {
      const error = await instance
        .revoke({ orgId: org, kind: "client_subject", value: A_AT_A, reason: "operator" })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(RangeError);
      expect(error).toMatchObject({ message: "unknown revocation kind client_subject" });
    });
    expect((await entriesOf(org)).version).toBe(0);
  });

  it("refuses a check whose grant_chain_clients does not line up with its chain: it fails closed at the caller", async () => {
    const org = newOrg();
    const token = exchangedToken(org, grantId(), "mac_agent", true);
    const chain = token.grant_chain ?? [];
    await runInDurableObject(stub(org), async (instance: OrgState) => {
      for (const grant_chain_clients of [{}, { "oidc-grant:not-in-chain": "oidc_a" }, { [chain[0] ?? ""]: "" }]) {
        const error = await instance.isRevoked({ ...token, grant_chain_clients }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(RangeError);
        expect(error).toMatchObject({ message: expect.stringContaining("grant_chain_clients") });
      }
    });
  });

  it("refuses a revocation without its grant, client or person, and one naming another org", async () => {
    const org = newOrg();
    await revokeGrant(org, "user_a");
    // Inside the object: a rejection over RPC is also reported as the object's uncaught error.
    await runInDurableObject(stub(org), async (instance: OrgState) => {
      const refusal = (revocation: BrowserGrantRevocation) =>
        instance.revokeBrowserGrant(revocation).then(
          () => undefined,
          (error: unknown) => error,
        );
      for (const bad of [
        { grantId: "", clientId: "oidc_a", subject: "user_a" },
        { grantId: grantId(), clientId: "", subject: "user_a" },
        { grantId: grantId(), clientId: "oidc_a", subject: "" },
        { grantId: grantId(), clientId: "oidc_a", subject: "x".repeat(257) },
        // A delegation grant's id: its entry must outlive the person's subject cut-offs, which drop browser ones.
        { grantId: `dg_${crypto.randomUUID()}`, clientId: "oidc_a", subject: "user_a" },
      ]) {
        const error = await refusal({ orgId: org, reason: "r", ...bad });
        expect(error).toBeInstanceOf(RangeError);
        expect(error).toMatchObject({
          message: "browser grant revocation needs a browser grantId, clientId and subject",
        });
      }
      const other = await refusal({ orgId: newOrg(), grantId: grantId(), clientId: "c", subject: "s", reason: "r" });
      expect(other).toBeInstanceOf(OrgMismatchError);
      expect(other).toMatchObject({ code: ERR_ORG_STATE_WRONG_ORG });
    });
    expect((await entriesOf(org)).grants).toHaveLength(1);
    expect((await entriesOf(org)).version).toBe(1);
  });

  it("a grant entry younger than the clock tolerance survives the fold and still refuses its token", async () => {
    const org = newOrg();
    const old = await revokeMany(org, "user_a", CAP - 2);
    // One second before the fold's margin, then one second inside it.
    advance(1);
    const covered = grantId();
    await revokeGrant(org, "user_a", "oidc_a", covered);
    advance(1);
    const young = grantId();
    await revokeGrant(org, "user_a", "oidc_a", young);
    advance(TOLERANCE - 1);
    const folding = grantId();
    expect((await revokeGrant(org, "user_a", "oidc_a", folding)).recorded).toBe("client_subject");

    const { entries, grants } = await entriesOf(org);
    const cutOff = entries.find((e) => e.kind === "client_subject")?.revokedAt as number;
    const at = (id: string) => grants.find((e) => e.value === id)?.revokedAt;
    // Recorded at cutOff - TOLERANCE (covered with the margin) goes; at cutOff - TOLERANCE + 1 stays.
    expect(grants.map((e) => e.value).sort()).toEqual([young, folding].sort());
    expect([at(young), at(folding)]).toEqual([cutOff - TOLERANCE + 1, cutOff]);
    expect(
      await stub(org).areRevoked([
        // Signed by a clock up to the tolerance ahead of the object's: after the cut-off's second.
        browserToken(org, "user_a", young, cutOff + TOLERANCE),
        browserToken(org, "user_a", folding, cutOff + TOLERANCE),
        // A dropped grant's tokens can carry at most its entry's second plus the tolerance: the cut-off.
        browserToken(org, "user_a", covered, cutOff),
        ...old.map((g) => browserToken(org, "user_a", g, cutOff - 1)),
        // A grant never revoked, past the cut-off: the person's new tokens are accepted.
        browserToken(org, "user_a", grantId(), cutOff + 1),
      ]),
    ).toEqual([true, true, true, ...old.map(() => true), false]);
  });

  it("a later cut-off drops the entries an earlier fold kept, once they are older than the tolerance", async () => {
    const org = newOrg();
    const mine = await revokeMany(org, "user_a", CAP);
    // The fold in the same second: the cut-off covers none of them with the margin, so it drops none.
    expect((await revokeGrant(org, "user_a")).recorded).toBe("client_subject");
    expect((await entriesOf(org)).grants).toHaveLength(CAP + 1);
    advance(TOLERANCE);
    const last = grantId();
    expect((await revokeGrant(org, "user_a", "oidc_a", last)).recorded).toBe("client_subject");
    expect((await entriesOf(org)).grants.map((e) => e.value)).toEqual([last]);
    expect((await stub(org).areRevoked(mine.map((g) => browserToken(org, "user_a", g)))).every(Boolean)).toBe(true);
  });

  it("race: many revocations at once for one person each record once, every grant's tokens stay refused, and they fold once older than the tolerance", async () => {
    const org = newOrg();
    const ids = Array.from({ length: 4 * CAP }, grantId);
    const outcomes = await Promise.all(ids.map((id) => revokeGrant(org, "user_a", "oidc_a", id)));
    const recorded = outcomes.map((o) => o.recorded);
    // The object takes them one at a time within one second: the first CAP are entries; each after
    // them folds, but a cut-off in the entries' own second covers none of them with the margin.
    expect(recorded.filter((r) => r === "grant")).toHaveLength(CAP);
    expect(recorded.filter((r) => r === "client_subject")).toHaveLength(3 * CAP);
    // Each call moved the version by its own events: 1 for an entry, 2 for a fold.
    const { version, grants, entries } = await entriesOf(org);
    expect(version).toBe(recorded.reduce((n, r) => n + (r === "client_subject" ? 2 : 1), 0));
    expect(grants).toHaveLength(4 * CAP);
    expect(entries.filter((e) => e.kind === "client_subject")).toHaveLength(1);
    const tokens = ids.map((id) => browserToken(org, "user_a", id));
    expect((await stub(org).areRevoked(tokens)).every(Boolean)).toBe(true);
    // Once they are older than the tolerance, the next revocation's cut-off drops them all.
    advance(TOLERANCE);
    const last = grantId();
    expect((await revokeGrant(org, "user_a", "oidc_a", last)).recorded).toBe("client_subject");
    expect((await entriesOf(org)).grants.map((e) => e.value)).toEqual([last]);
    expect((await stub(org).areRevoked(tokens)).every(Boolean)).toBe(true);
  });

  it("an object from before the column gains it at start; its older grant rows stay unattributed", async () => {
    const org = newOrg();
    await revokeGrant(org, "user_a");
    await runInDurableObject(stub(org), (_instance, state) => {
      const sql = state.storage.sql;
      // Nor the entry accounting (revocation-capacity.ts), whose triggers read the columns dropped here.
      for (const trigger of ENTRY_ACCOUNTING_TRIGGERS) sql.exec(`DROP TRIGGER ${trigger}`);
      sql.exec("DELETE FROM meta WHERE key IN (?, ?)", ORG_STATE_META.entryRows, ORG_STATE_META.entryBytes);
      sql.exec("DROP INDEX revocation_by_subject");
      sql.exec("ALTER TABLE revocation DROP COLUMN subject");
      sql.exec(
        "INSERT INTO revocation (kind, value, revoked_at, expires_at) VALUES ('grant', 'oidc-grant:old', ?, ?)",
        now(),
        now() + 60,
      );
      migrateGrantColumns(sql);
      migrateGrantColumns(sql);
      installEntryAccounting(sql);
      const columns = sql
        .exec<{ name: string }>("PRAGMA table_info(revocation)")
        .toArray()
        .map((c) => c.name);
      expect(columns).toContain("subject");
      const indexes = sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'revocation'")
        .toArray()
        .map((i) => i.name);
      expect(indexes).toContain("revocation_by_subject");
    });
    const { grants } = await entriesOf(org);
    expect(grants.find((e) => e.value === "oidc-grant:old")).toEqual({
      kind: "grant",
      value: "oidc-grant:old",
      revokedAt: expect.any(Number),
      expiresAt: expect.any(Number),
      clientId: undefined,
      subject: undefined,
    });
  });
});
