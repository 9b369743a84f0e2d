import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_REVOCATION_LOG_EVENTS, type RevocableClaims } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";

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

async function logRows(orgId: string): Promise<{ events: number; floor: number }> {
  return runInDurableObject(stub(orgId), (_instance, state) => ({
    events: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM revocation_event").one().n,
    floor: state.storage.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'log_floor'").one().value,
  }));
}

describe("OrgState's revocation log: bounded by versions, not by how long its entries live", () => {
  it("keeps the events of the last MAX_REVOCATION_LOG_EVENTS versions; a reader further behind resyncs", async () => {
    const org = newOrg();
    await stub(org).revoke({ orgId: org, kind: "subject", value: "u-1", reason: "test" });
    // A log already at the cap (versions 1..cap, none expired), written straight into the object's table.
    await runInDurableObject(stub(org), (_instance, state) => {
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO revocation_event (seq, kind, value, revoked_at, expires_at, reason)
         SELECT i, 'jti', 'jti-' || i, ?, ?, 'test' FROM n`,
        MAX_REVOCATION_LOG_EVENTS,
        now(),
        now() + 3600,
      );
      state.storage.sql.exec("UPDATE meta SET value = ? WHERE key = 'version'", MAX_REVOCATION_LOG_EVENTS);
    });
    expect(await logRows(org)).toEqual({ events: MAX_REVOCATION_LOG_EVENTS, floor: 0 });
    expect(await stub(org).changesSince(0)).toMatchObject({ kind: "changes" });

    await revokeByItsClient(token(org, "mac_a"));
    expect(await logRows(org)).toEqual({ events: MAX_REVOCATION_LOG_EVENTS, floor: 1 });
    expect(await stub(org).changesSince(0)).toEqual({ kind: "resync", version: MAX_REVOCATION_LOG_EVENTS + 1 });
    const kept = await stub(org).changesSince(1);
    expect(kept.kind === "changes" && kept.events[0]?.seq).toBe(2);
    // The snapshot a resyncing reader reads still has what the dropped event recorded.
    const { entries } = await stub(org).snapshot(org);
    expect(entries.some((e) => e.kind === "subject" && e.value === "u-1")).toBe(true);
  });
});
