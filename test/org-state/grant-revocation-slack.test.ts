// OrgState.revoke's `slackSeconds`: a `grant` recording made before D1 marks
// the grant revoked asks its entry to live that much longer, so the one
// entry (and the one log event every subscriber, gateway channel and SSF
// receiver is sent) outlives a token minted while D1 marked it
// (workers/token/src/revocations/grant-revocation.ts). Only `grant` takes
// it, and only within MAX_REVOCATION_SLACK_SECONDS: anything else is a
// caller's bug, refused with nothing recorded.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_REVOCATION_SLACK_SECONDS, type RevocationKind } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { CLOCK_TOLERANCE_SECONDS, MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../shared/contracts/tokens.ts";

const LIFETIME = MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS;

function stub(orgId: string) {
  return env.ORG_STATE.getByName(orgStateName(orgId));
}

async function events(orgId: string) {
  const changes = await stub(orgId).changesSince(0);
  if (changes.kind !== "changes") throw new Error(`the log answered ${changes.kind}`);
  return changes.events;
}

describe("OrgState.revoke: a grant recording's slack", () => {
  it("keeps the entry and its one log event the slack past the longest lifetime, in the snapshot and a gateway's sync alike", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const s = stub(org);
    const version = await s.revoke({ orgId: org, kind: "grant", value: "dg-1", reason: "test" }, undefined, 60);
    const logged = await events(org);
    expect(logged).toHaveLength(1);
    const event = logged[0];
    expect(event).toMatchObject({ seq: version, kind: "grant", value: "dg-1" });
    expect((event?.expires_at ?? 0) - (event?.revoked_at ?? 0)).toBe(LIFETIME + 60);
    const entry = (await s.snapshot(org)).entries.find((e) => e.value === "dg-1");
    expect(entry).toMatchObject({ revokedAt: event?.revoked_at, expiresAt: event?.expires_at });
    // A gateway view holds an entry until the expires_at its event carries (revocation-index.ts).
    const sync = await s.sync(org, 0);
    expect(sync.kind === "delta" ? sync.events : []).toEqual(logged);
  });

  it("a later recording without slack keeps the longer life (and logs its own event)", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const s = stub(org);
    await s.revoke(
      { orgId: org, kind: "grant", value: "dg-1", reason: "test" },
      undefined,
      MAX_REVOCATION_SLACK_SECONDS,
    );
    await s.revoke({ orgId: org, kind: "grant", value: "dg-1", reason: "test" });
    const [first, second] = await events(org);
    expect((first?.expires_at ?? 0) - (first?.revoked_at ?? 0)).toBe(LIFETIME + MAX_REVOCATION_SLACK_SECONDS);
    expect((second?.expires_at ?? 0) - (second?.revoked_at ?? 0)).toBe(LIFETIME);
    const entry = (await s.snapshot(org)).entries.find((e) => e.value === "dg-1");
    expect(entry?.expiresAt).toBe(first?.expires_at);
  });

  it("takes a slack of 0 from any kind, as none", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const s = stub(org);
    await s.revoke({ orgId: org, kind: "subject", value: "user-1", reason: "test" }, undefined, 0);
    const [event] = await events(org);
    expect((event?.expires_at ?? 0) - (event?.revoked_at ?? 0)).toBe(LIFETIME);
  });

  it("refuses a slack for any other kind, recording nothing", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const s = stub(org);
    const now = Math.floor(Date.now() / 1000);
    const others: [RevocationKind, string][] = [
      ["jti", "j-1"],
      ["session", "sess-1"],
      ["subject", "user-1"],
      ["client", "client-1"],
      ["org", org],
    ];
    for (const [kind, value] of others) {
      // Awaited inside an async function: a stub's RPC promise rejected straight into expect() is reported unhandled.
      await expect(
        (async () =>
          s.revoke({ orgId: org, kind, value, reason: "test" }, kind === "jti" ? now + 60 : undefined, 60))(),
        kind,
      ).rejects.toThrow("only a grant revocation takes a slack");
    }
    expect((await s.snapshot(org)).version).toBe(0);
  });

  it("refuses a slack that is not an integer within 0..MAX_REVOCATION_SLACK_SECONDS, recording nothing", async () => {
    const org = `org-${crypto.randomUUID()}`;
    const s = stub(org);
    for (const slack of [-1, MAX_REVOCATION_SLACK_SECONDS + 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(
        (async () => s.revoke({ orgId: org, kind: "grant", value: "dg-1", reason: "test" }, undefined, slack))(),
        String(slack),
      ).rejects.toThrow(`revocation slack must be an integer 0..${MAX_REVOCATION_SLACK_SECONDS} seconds`);
    }
    expect((await s.snapshot(org)).version).toBe(0);
    expect((await s.snapshot(org)).entries).toEqual([]);
  });
});
