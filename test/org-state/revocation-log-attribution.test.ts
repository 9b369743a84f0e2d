import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RevocableClaims } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { RevocationLog } from "../../workers/org-state/src/revocation-log.ts";

const now = () => Math.floor(Date.now() / 1000);
const newOrg = () => `org-${crypto.randomUUID()}`;
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));

function token(orgId: string, clientId: string): RevocableClaims {
  return { jti: crypto.randomUUID(), sub: clientId, client_id: clientId, org_id: orgId, iat: now() - 10 };
}

function revokeByItsClient(claims: RevocableClaims) {
  return stub(claims.org_id).revokeToken({
    claims,
    expiresAt: claims.iat + 300,
    byTokenClient: true,
    reason: `rfc7009 by ${claims.client_id}`,
  });
}

describe("OrgState's revocation log: whose token a jti event is", () => {
  it("gives an RFC 7009 jti event its token's client_id and iat, in the log and the snapshot, and no other event", async () => {
    const org = newOrg();
    const mine = token(org, "mac_a");
    await stub(org).revoke({ orgId: org, kind: "jti", value: "by-operator", reason: "operator" });
    await revokeByItsClient(mine);
    const changes = await stub(org).changesSince(0);
    if (changes.kind !== "changes") throw new Error(`expected changes, got ${changes.kind}`);
    expect(
      changes.events.map(({ kind, value, client_id, issued_at }) => ({ kind, value, client_id, issued_at })),
    ).toEqual([
      { kind: "jti", value: "by-operator", client_id: undefined, issued_at: undefined },
      { kind: "jti", value: mine.jti, client_id: "mac_a", issued_at: mine.iat },
    ]);
    expect("client_id" in (changes.events[0] as object)).toBe(false);
    const { entries } = await stub(org).snapshot(org);
    expect(entries.find((e) => e.value === mine.jti)).toMatchObject({ clientId: "mac_a", issuedAt: mine.iat });
    expect(entries.find((e) => e.value === "by-operator")).not.toHaveProperty("clientId");
  });

  it("gives a log created before the attribution its columns; its older events stay unattributed", async () => {
    const org = newOrg();
    await stub(org).revoke({ orgId: org, kind: "jti", value: "from-before", reason: "test" });
    const events = await runInDurableObject(stub(org), (_instance, state) => {
      // The table as such an object holds it, then what its next start runs.
      state.storage.sql.exec("ALTER TABLE revocation_event DROP COLUMN client_id");
      state.storage.sql.exec("ALTER TABLE revocation_event DROP COLUMN issued_at");
      const log = new RevocationLog(state.storage.sql);
      log.append({
        seq: 2,
        kind: "jti",
        value: "after",
        revoked_at: now(),
        expires_at: now() + 60,
        reason: "test",
        client_id: "mac_a",
        issued_at: now() - 10,
      });
      const changes = log.changesSince(0, 2);
      return changes.kind === "changes" ? changes.events.map((e) => [e.value, e.client_id ?? null]) : [];
    });
    expect(events).toEqual([
      ["from-before", null],
      ["after", "mac_a"],
    ]);
  });
});
