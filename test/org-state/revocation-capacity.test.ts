import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RevocableClaims } from "../../shared/contracts/org-state.ts";
import {
  MAX_LIVE_REVOCATIONS_PER_ORG,
  MAX_REVOCATION_ENTRIES_PER_ORG,
  type RevocationKind,
} from "../../shared/contracts/revocation.ts";
import { ORG_STATE_META, orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { OrgState } from "../../workers/org-state/src/org-state.ts";
import {
  ENTRY_ACCOUNTING_TRIGGERS,
  ENTRY_OVERHEAD_BYTES,
  ERR_ORG_STATE_REVOCATIONS_FULL,
  entryUsage,
  installEntryAccounting,
} from "../../workers/org-state/src/revocation-capacity.ts";

const now = () => Math.floor(Date.now() / 1000);
const newOrg = () => `org-${crypto.randomUUID()}`;
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));

/**
 * The error a call into the org's object fails with, or undefined. Called
 * inside the object: a rejection over RPC is also reported as the object's
 * uncaught error (as grant-entry-fold.test.ts does).
 */
function refusal(orgId: string, call: (instance: OrgState) => Promise<unknown>): Promise<unknown> {
  return runInDurableObject(stub(orgId), (instance: OrgState) =>
    call(instance).then(
      () => undefined,
      (error: unknown) => error,
    ),
  );
}

function expectFull(error: unknown): void {
  expect(error).toMatchObject({
    name: "RevocationCapacityError",
    code: ERR_ORG_STATE_REVOCATIONS_FULL,
    message: `${ERR_ORG_STATE_REVOCATIONS_FULL}: the org holds ${MAX_REVOCATION_ENTRIES_PER_ORG} live revocations; retry once some expire`,
  });
}

/**
 * An org holding `live` live session entries (and `expired` ones the alarm
 * has not pruned yet), written straight into the object's table: recording
 * 120,000 through the API takes minutes. One revoke first names the org.
 */
async function orgHolding(live: number, expired = 0): Promise<string> {
  const orgId = newOrg();
  await stub(orgId).revoke({ orgId, kind: "session", value: "fill-0", reason: "t" });
  await runInDurableObject(stub(orgId), (_instance, state) => {
    const at = now();
    // One statement a batch: SQLite generates the rows (and runs the object's triggers) without a call per row.
    const fill = (prefix: string, from: number, to: number, revokedAt: number, expiresAt: number) =>
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
         INSERT INTO revocation (kind, value, revoked_at, expires_at) SELECT 'session', ? || i, ?, ? FROM n`,
        from,
        to,
        prefix,
        revokedAt,
        expiresAt,
      );
    if (live > 1) fill("fill-", 1, live, at, at + 3600);
    if (expired > 0) fill("old-", 0, expired, at - 4000, at - 10);
  });
  return orgId;
}

async function rows(orgId: string): Promise<number> {
  return runInDurableObject(
    stub(orgId),
    (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM revocation").one().n,
  );
}

function token(orgId: string, clientId: string): RevocableClaims {
  return { jti: crypto.randomUUID(), sub: clientId, client_id: clientId, org_id: orgId, iat: now() - 10 };
}

describe("OrgState: an org's revocation entries of every kind are bounded", () => {
  it("sits above the RFC 7009 fold's org cap, so folds go on between the two", () => {
    expect(MAX_REVOCATION_ENTRIES_PER_ORG).toBeGreaterThan(MAX_LIVE_REVOCATIONS_PER_ORG);
  });

  it("at the cap a new entry of any kind is refused, recording nothing; moving an existing one forward is not", async () => {
    const orgId = await orgHolding(MAX_REVOCATION_ENTRIES_PER_ORG);
    const org = stub(orgId);
    const version = (await org.snapshot(orgId)).version;
    const kinds: [RevocationKind, string][] = [
      ["jti", "j-new"],
      ["session", "s-new"],
      ["subject", "u-new"],
      ["client", "c-new"],
      ["grant", "g-new"],
      ["org", orgId],
    ];
    for (const [kind, value] of kinds) {
      expectFull(await refusal(orgId, (instance) => instance.revoke({ orgId, kind, value, reason: "t" })));
    }
    expectFull(
      await refusal(orgId, (instance) =>
        instance.revokeSubjects([{ orgId, kind: "subject", value: "u-new", reason: "t" }]),
      ),
    );
    expectFull(
      await refusal(orgId, (instance) =>
        instance.revokeBrowserGrant({
          orgId,
          grantId: `oidc-grant:${crypto.randomUUID()}`,
          clientId: "oidc_a",
          subject: "user_a",
          reason: "t",
        }),
      ),
    );
    // Past the fold's org cap RFC 7009 folds into a client cut-off: a new row for a client that holds none.
    expectFull(
      await refusal(orgId, (instance) =>
        instance.revokeToken({
          claims: token(orgId, "c-none"),
          expiresAt: now() + 300,
          byTokenClient: true,
          reason: "t",
        }),
      ),
    );
    // Nothing was recorded: no version, no event, no row.
    expect((await org.snapshot(orgId)).version).toBe(version);
    expect(await org.changesSince(version)).toMatchObject({ kind: "changes", events: [] });
    expect(await rows(orgId)).toBe(MAX_REVOCATION_ENTRIES_PER_ORG);
    // A cut-off already held moves forward: it adds no row, and refusing it would leave tokens since honoured.
    expect(await org.revoke({ orgId, kind: "session", value: "fill-7", reason: "again" })).toBe(version + 1);
  });

  it("at the cap a fold that drops its client's entries still records", async () => {
    const orgId = await orgHolding(MAX_REVOCATION_ENTRIES_PER_ORG - 5);
    const org = stub(orgId);
    // Five of c-busy's own RFC 7009 entries make the org full.
    await runInDurableObject(org, (_instance, state) => {
      for (let i = 0; i < 5; i++) {
        state.storage.sql.exec(
          `INSERT INTO revocation (kind, value, revoked_at, expires_at, client_id, issued_at)
           VALUES ('jti', ?, ?, ?, 'c-busy', ?)`,
          `busy-${i}`,
          now(),
          now() + 300,
          now() - 20,
        );
      }
    });
    expect(await rows(orgId)).toBe(MAX_REVOCATION_ENTRIES_PER_ORG);
    const outcome = await org.revokeToken({
      claims: token(orgId, "c-busy"),
      expiresAt: now() + 300,
      byTokenClient: true,
      reason: "t",
    });
    // Its cut-off is one row more, the five it covers five fewer.
    expect(outcome.recorded).toBe("client");
    expect(await rows(orgId)).toBe(MAX_REVOCATION_ENTRIES_PER_ORG - 4);
  });

  it("an object from before the accounting measures its rows once at start, not at every start", async () => {
    const orgId = newOrg();
    await stub(orgId).revoke({ orgId, kind: "session", value: "s1", reason: "t" });
    await stub(orgId).revoke({ orgId, kind: "grant", value: "\u4e00\u4e00", reason: "t" });
    const measured = await runInDurableObject(stub(orgId), (_instance, state) => {
      const sql = state.storage.sql;
      for (const trigger of ENTRY_ACCOUNTING_TRIGGERS) sql.exec(`DROP TRIGGER ${trigger}`);
      sql.exec("DELETE FROM meta WHERE key IN (?, ?)", ORG_STATE_META.entryRows, ORG_STATE_META.entryBytes);
      installEntryAccounting(sql);
      const first = entryUsage(sql);
      // Its next start reads the kept counts (here changed by hand, so a second measure would show).
      sql.exec("UPDATE meta SET value = 7 WHERE key = ?", ORG_STATE_META.entryRows);
      installEntryAccounting(sql);
      const kept = entryUsage(sql).rows;
      sql.exec("UPDATE meta SET value = ? WHERE key = ?", first.rows, ORG_STATE_META.entryRows);
      return { first, kept };
    });
    // Two rows: a session id of two ASCII characters and a grant of two two-byte ones.
    expect(measured.first).toEqual({ rows: 2, bytes: 2 * ENTRY_OVERHEAD_BYTES + 2 + 4 });
    expect(measured.kept).toBe(7);
  });

  it("expired entries the alarm has not pruned yet do not count", async () => {
    const orgId = await orgHolding(MAX_REVOCATION_ENTRIES_PER_ORG - 10, 10);
    const org = stub(orgId);
    const version = (await org.snapshot(orgId)).version;
    expect(await org.revoke({ orgId, kind: "subject", value: "u-late", reason: "t" })).toBe(version + 1);
  });
});
