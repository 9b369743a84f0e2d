import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT,
  MAX_LIVE_REVOCATIONS_PER_ORG,
  type RevocableClaims,
} from "../../shared/contracts/revocation.ts";
import { ORG_STATE_META, orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { OrgState } from "../../workers/org-state/src/org-state.ts";
import { ENTRY_ACCOUNTING_TRIGGERS, installEntryAccounting } from "../../workers/org-state/src/revocation-capacity.ts";
import { ERR_ORG_STATE_WRONG_ORG } from "../../workers/org-state/src/own-org.ts";
import { migrateTokenColumns } from "../../workers/org-state/src/token-revocation.ts";

const now = () => Math.floor(Date.now() / 1000);
const newOrg = () => `org-${crypto.randomUUID()}`;
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));

/** A token of `clientId`, issued ten seconds ago unless `iat` says otherwise. */
function token(orgId: string, clientId: string, iat = now() - 10): RevocableClaims {
  return { jti: crypto.randomUUID(), sub: clientId, client_id: clientId, org_id: orgId, iat };
}

/** RFC 7009 as the token Worker records it: by the token's own client unless a resource server asked. */
function revokeToken(orgId: string, claims: RevocableClaims, byTokenClient = true) {
  return stub(orgId).revokeToken({
    claims,
    expiresAt: claims.iat + 300,
    byTokenClient,
    reason: `rfc7009 by ${byTokenClient ? claims.client_id : "mac_server"}`,
  });
}

/** Revokes `count` fresh tokens of the client (in batches: one RPC each, as the endpoint does). */
async function revokeMany(orgId: string, clientId: string, count: number): Promise<RevocableClaims[]> {
  const tokens = Array.from({ length: count }, () => token(orgId, clientId));
  for (let i = 0; i < tokens.length; i += 100) {
    await Promise.all(tokens.slice(i, i + 100).map((claims) => revokeToken(orgId, claims)));
  }
  return tokens;
}

/**
 * The rows `count` RFC 7009 revocations of the client's tokens leave (a jti
 * attributed to its client and iat), written straight into the table: the
 * first test records them one RPC at a time; the others start from there.
 */
async function attributedRows(orgId: string, clientId: string, count: number): Promise<void> {
  await runInDurableObject(stub(orgId), (_instance, state) =>
    state.storage.sql.exec(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO revocation (kind, value, revoked_at, expires_at, client_id, issued_at)
       SELECT 'jti', ? || i, ?, ?, ?, ? FROM n`,
      count,
      `${clientId}-jti-`,
      now(),
      now() + 300,
      clientId,
      now() - 10,
    ),
  );
}

async function entriesOf(orgId: string) {
  const { entries } = await stub(orgId).snapshot(orgId);
  return {
    jtis: new Set(entries.filter((e) => e.kind === "jti").map((e) => e.value)),
    clients: entries.filter((e) => e.kind === "client"),
  };
}

describe("OrgState.revokeToken: one client's RFC 7009 revocations fold at the cap", () => {
  it("records up to the cap as jti entries, then one client cut-off that drops them, in one step", async () => {
    const org = newOrg();
    const [mine, other] = [await revokeMany(org, "mac_a", MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT), token(org, "mac_b")];
    await revokeToken(org, other);
    const before = await entriesOf(org);
    expect({ jtis: before.jtis.size, clients: before.clients }).toEqual({
      jtis: MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT + 1,
      clients: [],
    });

    const last = token(org, "mac_a");
    const version = MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT + 1;
    // The jti event (for receivers that follow tokens one by one), then the cut-off.
    expect(await revokeToken(org, last)).toEqual({ version: version + 2, recorded: "client" });

    const after = await entriesOf(org);
    expect([...after.jtis]).toEqual([other.jti]);
    expect(after.clients).toHaveLength(1);
    const cutOff = after.clients[0];
    expect(cutOff).toMatchObject({ kind: "client", value: "mac_a" });
    const changes = await stub(org).changesSince(version);
    expect(changes).toMatchObject({
      kind: "changes",
      events: [
        { seq: version + 1, kind: "jti", value: last.jti, revoked_at: cutOff?.revokedAt },
        { seq: version + 2, kind: "client", value: "mac_a", revoked_at: cutOff?.revokedAt },
      ],
    });

    const revokedAt = cutOff?.revokedAt as number;
    const [first] = mine as [RevocableClaims];
    const checks = {
      revokedBeforeTheFold: await stub(org).isRevoked(first),
      theOneThatFolded: await stub(org).isRevoked(last),
      anotherOfItsTokensFromBefore: await stub(org).isRevoked(token(org, "mac_a")),
      issuedInTheCutOffSecond: await stub(org).isRevoked(token(org, "mac_a", revokedAt)),
      issuedTheSecondAfter: await stub(org).isRevoked(token(org, "mac_a", revokedAt + 1)),
      anotherClientsToken: await stub(org).isRevoked(token(org, "mac_b")),
      anotherClientsRevokedToken: await stub(org).isRevoked(other),
    };
    expect(checks).toEqual({
      revokedBeforeTheFold: true,
      theOneThatFolded: true,
      anotherOfItsTokensFromBefore: true,
      issuedInTheCutOffSecond: true,
      issuedTheSecondAfter: false,
      anotherClientsToken: false,
      anotherClientsRevokedToken: true,
    });
  });

  it("records nothing for a token a cut-off already refuses, and a later token as a jti again", async () => {
    const org = newOrg();
    await attributedRows(org, "mac_a", MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT);
    const first = token(org, "mac_a");
    expect(await revokeToken(org, first)).toMatchObject({ recorded: "client" });
    const { version } = await stub(org).snapshot(org);
    expect(await revokeToken(org, first)).toEqual({ version, recorded: "covered" });
    expect(await revokeToken(org, token(org, "mac_a"))).toEqual({ version, recorded: "covered" });
    const { clients } = await entriesOf(org);
    const later = token(org, "mac_a", (clients[0]?.revokedAt as number) + 1);
    expect(await revokeToken(org, later)).toEqual({ version: version + 1, recorded: "jti" });
    expect([...(await entriesOf(org)).jtis]).toEqual([later.jti]);
  });

  it("never folds a client for a resource server's revocations of its tokens below the org's cap", async () => {
    const org = newOrg();
    await attributedRows(org, "mac_a", MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT);
    const byServer = token(org, "mac_a");
    expect(await revokeToken(org, byServer, false)).toMatchObject({ recorded: "jti" });
    expect(await stub(org).isRevoked(token(org, "mac_a"))).toBe(false);
    // Its entries are the client's all the same: the client's own next revocation folds them too.
    expect(await revokeToken(org, token(org, "mac_a"))).toMatchObject({ recorded: "client" });
    expect((await entriesOf(org)).jtis.size).toBe(0);
    expect(await stub(org).isRevoked(byServer)).toBe(true);
  });

  it("folds any token revocation into its client's cut-off once the org holds its cap of entries", async () => {
    const org = newOrg();
    const s = stub(org);
    await revokeToken(org, token(org, "mac_a"));
    // The org's other entries, written straight into its table: recording 100,000 one by one takes minutes.
    await runInDurableObject(s, (_instance, state) =>
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO revocation (kind, value, revoked_at, expires_at) SELECT 'session', 's' || i, ?, ? FROM n`,
        MAX_LIVE_REVOCATIONS_PER_ORG - 1,
        now(),
        now() + 600,
      ),
    );
    const server = token(org, "mac_c");
    expect(await revokeToken(org, server, false)).toMatchObject({ recorded: "client" });
    expect(await s.isRevoked(token(org, "mac_c"))).toBe(true);
    expect(await s.isRevoked(token(org, "mac_a"))).toBe(false);
  });

  it("gives an object created before the attribution its columns, and counts only rows that carry them", async () => {
    const org = newOrg();
    await stub(org).revoke({ orgId: org, kind: "jti", value: "from-before", reason: "test" });
    await runInDurableObject(stub(org), (_instance, state) => {
      // The table as such an object holds it, then what its next start runs.
      // Nor the entry accounting (revocation-capacity.ts), whose triggers read the columns dropped here.
      for (const trigger of ENTRY_ACCOUNTING_TRIGGERS) state.storage.sql.exec(`DROP TRIGGER ${trigger}`);
      state.storage.sql.exec(
        "DELETE FROM meta WHERE key IN (?, ?)",
        ORG_STATE_META.entryRows,
        ORG_STATE_META.entryBytes,
      );
      state.storage.sql.exec("DROP INDEX revocation_by_client");
      state.storage.sql.exec("ALTER TABLE revocation DROP COLUMN client_id");
      state.storage.sql.exec("ALTER TABLE revocation DROP COLUMN issued_at");
      migrateTokenColumns(state.storage.sql);
      installEntryAccounting(state.storage.sql);
    });
    await attributedRows(org, "mac_a", MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT);
    expect(await revokeToken(org, token(org, "mac_a"))).toMatchObject({ recorded: "client" });
    expect([...(await entriesOf(org)).jtis]).toEqual(["from-before"]);
  });

  it("refuses a token of another org and a token without its claims, recording nothing", async () => {
    const org = newOrg();
    const { jti: _dropped, ...noJti } = token(org, "mac_a");
    // On the object itself: a rejection over RPC is also reported as the object's uncaught error.
    const refusals = await runInDurableObject(stub(org), async (instance: OrgState) => {
      const refusal = (claims: RevocableClaims) =>
        instance.revokeToken({ claims, expiresAt: now() + 300, byTokenClient: true, reason: "test" }).then(
          () => undefined,
          (error: unknown) => error,
        );
      return [await refusal(token(newOrg(), "mac_a")), await refusal(noJti as RevocableClaims)];
    });
    expect(refusals[0]).toMatchObject({ code: ERR_ORG_STATE_WRONG_ORG });
    expect(refusals[1]).toBeInstanceOf(RangeError);
    expect((await stub(org).snapshot(org)).version).toBe(0);
  });
});
