// OrgState.revokeSubjects: a caller that cuts off many people (a SCIM Group
// write renaming an `admin` Group) records all their `subject` cut-offs in
// one call, each exactly as revoke() records one: its own version and log
// event, in the order given, fanned out to gateway channels, and the
// person's covered browser-grant entries dropped. A call naming another
// org, another kind or too many people records nothing.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type BrowserGrantRevocation,
  GATEWAY_CHANNEL_PATH,
  type GatewayChannelMessage,
  MAX_SUBJECT_REVOCATIONS_PER_CALL as MAX,
  type RevocableClaims,
  type RevocationEvent,
} from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { CLOCK_TOLERANCE_SECONDS as TOLERANCE, MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../shared/contracts/tokens.ts";
import type { OrgState } from "../../workers/org-state/src/org-state.ts";
import { ERR_ORG_STATE_WRONG_ORG, OrgMismatchError } from "../../workers/org-state/src/own-org.ts";

/** The object runs in this isolate: its clock stands still until advanced (grant-entry-fold.test.ts). */
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Math.floor(Date.now() / 1000) * 1000);
});
afterEach(() => {
  vi.useRealTimers();
});

const now = () => Math.floor(Date.now() / 1000);
const newOrg = () => `org-${crypto.randomUUID()}`;
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));
const people = (count: number, prefix = "user") => Array.from({ length: count }, (_, i) => `${prefix}_${i}`);
const cutOffs = (orgId: string, subjects: string[], reason = "scim-role-changed"): RevocationEvent[] =>
  subjects.map((value) => ({ orgId, kind: "subject", value, reason }));

/** A token of `sub` in the org, issued ten seconds ago. */
function tokenOf(orgId: string, sub: string, extra: Partial<RevocableClaims> = {}): RevocableClaims {
  return { jti: crypto.randomUUID(), sub, client_id: "cli_a", org_id: orgId, iat: now() - 10, ...extra };
}

describe("OrgState.revokeSubjects", () => {
  it("records each person's cut-off as revoke() does: one version and one log event each, in order", async () => {
    const org = newOrg();
    await stub(org).revoke({ orgId: org, kind: "session", value: "sess-1", reason: "sign-out" });
    const subjects = people(3);
    const outcome = await stub(org).revokeSubjects(cutOffs(org, subjects));
    expect(outcome).toEqual({
      version: 4,
      subjects: [
        { value: "user_0", recorded: true, seq: 2 },
        { value: "user_1", recorded: true, seq: 3 },
        { value: "user_2", recorded: true, seq: 4 },
      ],
    });
    const expiresAt = now() + MAX_ACCESS_TOKEN_TTL_SECONDS + TOLERANCE;
    const changes = await stub(org).changesSince(1);
    expect(changes).toEqual({
      kind: "changes",
      version: 4,
      more: false,
      events: subjects.map((value, i) => ({
        seq: i + 2,
        kind: "subject",
        value,
        revoked_at: now(),
        expires_at: expiresAt,
        reason: "scim-role-changed",
      })),
    });
    const snapshot = await stub(org).snapshot(org);
    expect(snapshot.version).toBe(4);
    expect(snapshot.entries.map((e) => `${e.kind}:${e.value}`).sort()).toEqual([
      "session:sess-1",
      "subject:user_0",
      "subject:user_1",
      "subject:user_2",
    ]);
    expect(await stub(org).areRevoked([...subjects, "user_other"].map((sub) => tokenOf(org, sub)))).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it("takes MAX_SUBJECT_REVOCATIONS_PER_CALL people in one call, and an empty call records nothing", async () => {
    const org = newOrg();
    expect(await stub(org).revokeSubjects([])).toEqual({ version: 0, subjects: [] });
    const subjects = people(MAX);
    const outcome = await stub(org).revokeSubjects(cutOffs(org, subjects));
    expect(outcome.version).toBe(MAX);
    expect(outcome.subjects.map((s) => (s.recorded ? s.seq : null))).toEqual(subjects.map((_, i) => i + 1));
    expect((await stub(org).snapshot(org)).entries).toHaveLength(MAX);
  });

  it("a person named again moves their cut-off forward and logs another event, as a second revoke() would", async () => {
    const org = newOrg();
    await stub(org).revokeSubjects(cutOffs(org, ["user_a"]));
    vi.setSystemTime(Date.now() + 5_000);
    const outcome = await stub(org).revokeSubjects(cutOffs(org, ["user_a"]));
    expect(outcome).toEqual({ version: 2, subjects: [{ value: "user_a", recorded: true, seq: 2 }] });
    const [entry] = (await stub(org).snapshot(org)).entries;
    expect(entry).toMatchObject({ kind: "subject", value: "user_a", revokedAt: now() });
  });

  it("refuses a person whose value the object does not take, and records the others", async () => {
    const org = newOrg();
    const long = `u${"0".repeat(256)}`;
    const outcome = await stub(org).revokeSubjects(cutOffs(org, ["user_a", long, "", "user_b"]));
    expect(outcome).toEqual({
      version: 2,
      subjects: [
        { value: "user_a", recorded: true, seq: 1 },
        { value: long, recorded: false },
        { value: "", recorded: false },
        { value: "user_b", recorded: true, seq: 2 },
      ],
    });
    const changes = await stub(org).changesSince(0);
    if (changes.kind !== "changes") throw new Error("expected changes");
    expect(changes.events.map((e) => e.value)).toEqual(["user_a", "user_b"]);
  });

  it("records nothing for a call naming another org, another kind, or more than the cap", async () => {
    const org = newOrg();
    await stub(org).revoke({ orgId: org, kind: "session", value: "sess-1", reason: "sign-out" });
    // Inside the object: a rejection over RPC is also reported as the object's uncaught error.
    await runInDurableObject(stub(org), async (instance: OrgState) => {
      const refusal = (events: RevocationEvent[]) =>
        instance.revokeSubjects(events).then(
          () => undefined,
          (error: unknown) => error,
        );
      const other = await refusal([...cutOffs(org, ["user_a"]), ...cutOffs(newOrg(), ["user_b"])]);
      expect(other).toBeInstanceOf(OrgMismatchError);
      expect(other).toMatchObject({ code: ERR_ORG_STATE_WRONG_ORG });
      const kind = await refusal([...cutOffs(org, ["user_a"]), { orgId: org, kind: "org", value: org, reason: "r" }]);
      expect(kind).toBeInstanceOf(RangeError);
      expect(kind).toMatchObject({ message: "revokeSubjects records subject cut-offs, not org" });
      const tooMany = await refusal(cutOffs(org, people(MAX + 1)));
      expect(tooMany).toBeInstanceOf(RangeError);
      expect(tooMany).toMatchObject({ message: `revokeSubjects takes at most ${MAX} events` });
    });
    const snapshot = await stub(org).snapshot(org);
    expect(snapshot.version).toBe(1);
    expect(snapshot.entries.map((e) => e.kind)).toEqual(["session"]);
  });

  it("drops each person's browser-grant entries their cut-off covers, as a gateway view does, and no one else's", async () => {
    const org = newOrg();
    const grant = (subject: string): BrowserGrantRevocation => ({
      orgId: org,
      grantId: `oidc-grant:${crypto.randomUUID()}`,
      clientId: "oidc_a",
      subject,
      reason: "rfc7009 refresh token by oidc_a",
    });
    const revoked = [grant("user_a"), grant("user_b"), grant("user_c")];
    for (const one of revoked) await stub(org).revokeBrowserGrant(one);
    vi.setSystemTime(Date.now() + TOLERANCE * 1000);
    await stub(org).revokeSubjects(cutOffs(org, ["user_a", "user_b"]));
    const grants = (await stub(org).snapshot(org)).entries.filter((e) => e.kind === "grant");
    expect(grants.map((e) => e.value)).toEqual([revoked[2]?.grantId]);
    // The dropped entries' tokens stay refused: the cut-off covers them.
    expect(
      await stub(org).areRevoked(
        revoked.map((g) => tokenOf(org, g.subject, { client_id: "oidc_a", grant_id: g.grantId })),
      ),
    ).toEqual([true, true, true]);
  });

  it("fans each event out to a gateway's push channel, in seq order", async () => {
    const org = newOrg();
    const response = await stub(org).fetch(`https://org-state${GATEWAY_CHANNEL_PATH}?after=0`, {
      headers: { Upgrade: "websocket" },
    });
    expect(response.status).toBe(101);
    const socket = response.webSocket;
    if (!socket) throw new Error("no WebSocket");
    const messages: GatewayChannelMessage[] = [];
    socket.addEventListener("message", (event) => messages.push(JSON.parse(String(event.data))));
    socket.accept();
    await expect.poll(() => messages.length).toBe(1);
    await stub(org).revokeSubjects(cutOffs(org, people(3)));
    await expect
      .poll(() => messages.slice(1))
      .toEqual(
        people(3).map((value, i) =>
          expect.objectContaining({ type: "revocation", seq: i + 1, kind: "subject", value }),
        ),
      );
    expect(messages[0]).toEqual({ type: "state", version: 0, policyVersion: null });
    socket.close(1000, "done");
  });

  it("race: concurrent calls each log their people contiguously, and every person is cut off once per call", async () => {
    const org = newOrg();
    const batches = Array.from({ length: 4 }, (_, b) => people(50, `batch${b}`));
    const outcomes = await Promise.all(batches.map((batch) => stub(org).revokeSubjects(cutOffs(org, batch))));
    const seqs = outcomes.map((o) => o.subjects.map((s) => (s.recorded ? s.seq : 0)));
    for (const one of seqs) expect(one).toEqual(Array.from({ length: 50 }, (_, i) => (one[0] ?? 0) + i));
    expect(seqs.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect((await stub(org).snapshot(org)).entries).toHaveLength(200);
  });
});
