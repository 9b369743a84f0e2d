import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import {
  MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON as CAP,
  clientSubjectValue,
} from "../../shared/contracts/revocation.ts";
import { CLOCK_TOLERANCE_SECONDS as TOLERANCE } from "../../shared/contracts/tokens.ts";
import type { Client } from "../support/runtime/browser-oidc.ts";
import { oidc, revocation } from "./oidc-fixture.ts";
import {
  active,
  earlierRevocations,
  grant,
  oauthError,
  orgState,
  type Person,
  refresh,
  refusedAtGateway,
  revokedInOrg,
} from "./oidc-grant-fixtures.ts";

// RFC 7009 §2.1 ends a browser grant's access tokens by a `grant` entry in
// the org's object, attributed to the grant's client and person (the
// refresh token row's user_id). Past MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON
// of one person's for one client, the object cuts the person off at that
// client instead (a `client_subject` cut-off) rather than let one member's
// authorize-and-revoke script fill the org's revocations (docs/revocation.md,
// "Bounds"); not the whole person, or a client they consented to could end
// their tokens at every other client by ending its own grants. The cut-off
// drops only the person's grant entries for that client it covers with the
// clock tolerance to spare; the object runs in its own Worker on the real
// clock, so which earlier entries are that old is read from its own seconds.

/** The earlier grant entries (recorded at `recorded`) a cut-off at `cutOff` keeps: younger than the margin. */
function keptBy(recorded: { value: string; revokedAt: number }[], cutOff: number): string[] {
  return recorded.filter((e) => e.revokedAt > cutOff - TOLERANCE).map((e) => e.value);
}

/** The person's `sub`, as every access token of theirs carries it. */
const subOf = (accessToken: string) => String(decodeJwt(accessToken).sub);

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

describe("browser grant revocations past the person's cap for a client fold into a cut-off of the person at that client", () => {
  it("the person's next revocation at the client cuts off their tokens of that client; theirs at another client and another person's live on", async () => {
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
    // A cut-off of the token's `sub` at its client, the folding grant's own entry, and of the earlier ones
    // only those younger than the clock tolerance.
    expect(after.version).toBe(before.version + 2);
    expect(after.entries.some((e) => e.kind === "subject")).toBe(false);
    const cutOffs = after.entries.filter((e) => e.kind === "client_subject");
    expect(cutOffs.map((e) => e.value)).toEqual([clientSubjectValue(client.clientId, sub)]);
    expect(cutOffs[0]).toMatchObject({ clientId: client.clientId, subject: sub });
    const kept = keptBy(before.entries, cutOffs[0]?.revokedAt ?? 0);
    const grants = after.entries.filter((e) => e.kind === "grant");
    expect(new Set(grants.map((e) => e.value))).toEqual(new Set([grantId, ...kept]));
    expect(grants.find((e) => e.value === grantId)).toMatchObject({ clientId: client.clientId, subject: sub });
    // Refused at the object, the introspection endpoint and the gateway: the revoked grant's token and
    // the person's other grant to the client.
    for (const token of [device.access_token, otherDevice.access_token]) {
      expect(await revokedInOrg(token)).toBe(true);
      expect(await active(token, client)).toBe(false);
      expect(await refusedAtGateway(token)).toBe(true);
    }
    // The same person's token at another client lives on, everywhere; so does another member's at this client.
    for (const [token, holder] of [
      [elsewhere.access_token, otherClient],
      [theirs.access_token, client],
    ] as const) {
      expect(await revokedInOrg(token)).toBe(false);
      expect(await active(token, holder)).toBe(true);
      expect(await refusedAtGateway(token)).toBe(false);
    }
    // The person's grant to the other client still refreshes.
    expect((await refresh(elsewhere.refresh_token ?? "", otherClient)).status).toBe(200);
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
        revocation_kind: "client_subject",
        value: clientSubjectValue(client.clientId, sub),
        grant_id: grantId,
        client_id: client.clientId,
        recorded: "client_subject",
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
    const cutOffs = entries.filter((e) => e.kind === "client_subject");
    expect(cutOffs.map((e) => e.value)).toEqual([clientSubjectValue(client.clientId, sub)]);
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
