import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON as CAP } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { CLOCK_TOLERANCE_SECONDS as TOLERANCE } from "../../shared/contracts/tokens.ts";
import type { Client } from "../support/runtime/browser-oidc.ts";
import { oidc, revocation } from "./oidc-fixture.ts";
import { active, grant, oauthError, type Person, refresh, revokedInOrg } from "./oidc-grant-fixtures.ts";

// RFC 7009 §2.1 ends a browser grant's access tokens by a `grant` entry in
// the org's object, attributed to the grant's client and person (the
// refresh token row's user_id). Past MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON
// of one person's for one client, the object cuts the person off instead
// (a `subject` cut-off) rather than let one member's authorize-and-revoke
// script fill the org's revocations (docs/revocation.md, "Bounds"). The
// cut-off drops only the person's grant entries it covers with the clock
// tolerance to spare; the object runs in its own Worker on the real clock,
// so which earlier entries are that old is read from its own seconds.

/** The earlier grant entries (recorded at `recorded`) a cut-off at `cutOff` keeps: younger than the margin. */
function keptBy(recorded: { value: string; revokedAt: number }[], cutOff: number): string[] {
  return recorded.filter((e) => e.revokedAt > cutOff - TOLERANCE).map((e) => e.value);
}

const orgState = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));

/** The person's `sub`, as every access token of theirs carries it. */
const subOf = (accessToken: string) => String(decodeJwt(accessToken).sub);

/** `count` earlier grant revocations of the person's, for the client, as the token Worker records them. */
async function earlierRevocations(person: Person, sub: string, client: Client, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await orgState(person.orgId).revokeBrowserGrant({
      orgId: person.orgId,
      grantId: `oidc-grant:earlier-${crypto.randomUUID()}`,
      clientId: client.clientId,
      subject: sub,
      reason: `rfc7009 refresh token by ${client.clientId}`,
    });
  }
}

/** Another person, a member of the org with it active in their session, so their grants are in that org. */
async function memberOf(orgId: string): Promise<Person> {
  const colleague = await oidc.signUp("Colleague");
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
    ).bind(crypto.randomUUID(), orgId, colleague.userId, Date.now()),
    env.DB.prepare("UPDATE session SET active_organization_id = ? WHERE id = ?").bind(orgId, colleague.sessionId),
  ]);
  return { ...colleague, orgId };
}

async function revokeRefreshToken(refreshToken: string, client: Client): Promise<number> {
  return (await revocation({ token: refreshToken, token_type_hint: "refresh_token" }, client)).status;
}

async function auditOf(value: string) {
  const row = await env.AUDIT_DB.prepare(
    "SELECT org_id, subject, detail FROM audit_event WHERE kind = 'revocation.recorded' AND instr(detail, ?) > 0",
  )
    .bind(value)
    .first<{ org_id: string; subject: string | null; detail: string }>();
  return row ? { org_id: row.org_id, subject: row.subject, ...JSON.parse(row.detail) } : null;
}

describe("browser grant revocations past the person's cap fold into a subject cut-off", () => {
  it("the person's next revocation cuts them off in the org: every token of theirs there is refused; another person's live on", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const otherClient = await oidc.browserClient();
    const device = await grant(person, client);
    const otherDevice = await grant(person, client);
    const elsewhere = await grant(person, otherClient);
    const sub = subOf(device.access_token);
    const colleague = await memberOf(person.orgId);
    const theirs = await grant(colleague, client);
    expect(subOf(theirs.access_token)).not.toBe(sub);
    expect(decodeJwt(theirs.access_token).org_id).toBe(person.orgId);
    await earlierRevocations(person, sub, client, CAP);
    const before = await orgState(person.orgId).snapshot(person.orgId);

    expect(await revokeRefreshToken(device.refresh_token ?? "", client)).toBe(200);

    const after = await orgState(person.orgId).snapshot(person.orgId);
    const grantId = String(decodeJwt(device.access_token).grant_id);
    // A subject cut-off of the token's `sub`, the folding grant's own entry, and of the earlier ones
    // only those younger than the clock tolerance.
    expect(after.version).toBe(before.version + 2);
    const cutOffs = after.entries.filter((e) => e.kind === "subject");
    expect(cutOffs.map((e) => e.value)).toEqual([sub]);
    const kept = keptBy(before.entries, cutOffs[0]?.revokedAt ?? 0);
    const grants = after.entries.filter((e) => e.kind === "grant");
    expect(new Set(grants.map((e) => e.value))).toEqual(new Set([grantId, ...kept]));
    expect(grants.find((e) => e.value === grantId)).toMatchObject({ clientId: client.clientId, subject: sub });
    // Refused: the revoked grant's token, the person's other grant to the client and their grant to another client.
    for (const [token, holder] of [
      [device.access_token, client],
      [otherDevice.access_token, client],
      [elsewhere.access_token, otherClient],
    ] as const) {
      expect(await revokedInOrg(token)).toBe(true);
      expect(await active(token, holder)).toBe(false);
    }
    // Another member's token to the same client lives on.
    expect(await revokedInOrg(theirs.access_token)).toBe(false);
    expect(await active(theirs.access_token, client)).toBe(true);
    // The revoked refresh token yields nothing; the others were not revoked (only the tokens issued so far).
    expect(await oauthError(await refresh(device.refresh_token ?? "", client))).toEqual({
      status: 400,
      error: "invalid_grant",
    });
    await expect
      .poll(() => auditOf(grantId))
      .toMatchObject({
        org_id: person.orgId,
        subject: sub,
        revocation_kind: "subject",
        value: sub,
        grant_id: grantId,
        client_id: client.clientId,
        recorded: "subject",
        reason: `rfc7009 refresh token by ${client.clientId}`,
      });
  });

  it("race: the person's grants revoked at once past the cap fold into one cut-off that keeps only entries younger than the clock tolerance, and every one of them is refused", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const grants = [await grant(person, client), await grant(person, client), await grant(person, client)];
    const sub = subOf(grants[0]?.access_token ?? "");
    await earlierRevocations(person, sub, client, CAP - 1);
    const before = await orgState(person.orgId).snapshot(person.orgId);

    const statuses = await Promise.all(grants.map((g) => revokeRefreshToken(g.refresh_token ?? "", client)));
    expect(statuses).toEqual([200, 200, 200]);

    const { entries } = await orgState(person.orgId).snapshot(person.orgId);
    // The object takes them one at a time: the first fills the cap, the second folds (and the third
    // folds again while the second's kept entries still number the cap); one cut-off row stays, and of
    // the earlier entries only those younger than the clock tolerance.
    const cutOffs = entries.filter((e) => e.kind === "subject");
    expect(cutOffs.map((e) => e.value)).toEqual([sub]);
    const kept = keptBy(before.entries, cutOffs[0]?.revokedAt ?? 0);
    const ours = grants.map((g) => String(decodeJwt(g.access_token).grant_id));
    const held = entries.filter((e) => e.kind === "grant").map((e) => e.value);
    expect(held).toEqual(expect.arrayContaining(kept));
    expect(held.filter((g) => !ours.includes(g))).toHaveLength(kept.length);
    for (const g of grants) {
      expect(await revokedInOrg(g.access_token)).toBe(true);
      expect(await active(g.access_token, client)).toBe(false);
    }
  });
});
