import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_REVOCATION_ENTRIES_PER_ORG, MAX_REVOCATION_SNAPSHOT_BYTES } from "../../shared/contracts/revocation.ts";
import { ORG_STATE_META, orgStateName } from "../../shared/contracts/storage-keys.ts";
import type { OrgState } from "../../workers/org-state/src/org-state.ts";
import {
  ENTRY_OVERHEAD_BYTES,
  ERR_ORG_STATE_REVOCATIONS_FULL,
} from "../../workers/org-state/src/revocation-capacity.ts";

const now = () => Math.floor(Date.now() / 1000);
const newOrg = () => `org-${crypto.randomUUID()}`;
const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));

/** Workers RPC's limit on a serialized argument or return value (Cloudflare's Workers RPC docs: 32 MiB). */
const RPC_LIMIT_BYTES = 32 * 1024 * 1024;
/** The longest value, client id and person the object takes on an entry (revocation-recording.ts and the folds). */
const MAX_FIELD = 256;
/** These move tens of megabytes through the object and RPC: seconds alone, more on two shared cores. */
const HEAVY_MS = 90_000;

/**
 * The largest entry the object can hold: a `grant` row whose value, client
 * and person are each 256 characters outside Latin-1 (two bytes each once
 * serialized), as a browser grant's revocation stores it.
 */
function widest(i: number): string {
  return `${String(i).padStart(8, "0")}${"\u4e00".repeat(MAX_FIELD - 8)}`;
}

/** An org whose table holds `count` of the widest entries, written straight in (the cap is what is under test). */
async function orgOfWidest(count: number): Promise<string> {
  const orgId = newOrg();
  await stub(orgId).revoke({ orgId, kind: "session", value: "s0", reason: "t" });
  await runInDurableObject(stub(orgId), (_instance, state) => {
    const at = now();
    // One statement: SQLite generates the rows (and runs the object's triggers) without a call per row.
    // Each value is widest(i): its number in eight digits, then two-byte characters to 256.
    state.storage.sql.exec(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?),
         v(value) AS (SELECT substr('00000000' || i, -8) || ? FROM n)
       INSERT INTO revocation (kind, value, revoked_at, expires_at, client_id, subject)
       SELECT 'grant', value, ?, ?, value, value FROM v`,
      count,
      "\u4e00".repeat(MAX_FIELD - 8),
      at,
      at + 3600,
    );
  });
  return orgId;
}

function accountedBytes(orgId: string): Promise<number> {
  return runInDurableObject(
    stub(orgId),
    (_instance, state) =>
      state.storage.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = ?", ORG_STATE_META.entryBytes).one()
        .value,
  );
}

describe("OrgState: the snapshot stays under Workers RPC's message limit", () => {
  it("by entries alone it would not: 120,000 of the widest entries are ~195 MB, six times the limit", () => {
    const widestEntry = ENTRY_OVERHEAD_BYTES + 3 * 2 * MAX_FIELD;
    expect(MAX_REVOCATION_ENTRIES_PER_ORG * widestEntry).toBeGreaterThan(5 * RPC_LIMIT_BYTES);
    // The budget leaves a quarter of the limit for the answer's envelope and any error in the accounting.
    expect(MAX_REVOCATION_SNAPSHOT_BYTES).toBeLessThanOrEqual(0.75 * RPC_LIMIT_BYTES);
  });

  it(
    "what the object accounts for its entries is at least what the runtime serializes for them",
    async () => {
      // Past the limit on purpose (written straight in), so the runtime's refusal says the size it measured.
      const orgId = await orgOfWidest(22_000);
      const accounted = await accountedBytes(orgId);
      const refusal = await stub(orgId)
        .sync(orgId, null)
        .then(
          () => "",
          (error: unknown) => String(error),
        );
      const measured = Number(/size of this value was: (\d+) bytes/.exec(refusal)?.[1]);
      expect(measured).toBeGreaterThan(RPC_LIMIT_BYTES);
      expect(accounted).toBeGreaterThanOrEqual(measured);
      // And not far above it: the accounting's overhead per entry is a bound, not a guess ten times too big.
      expect(accounted).toBeLessThan(measured * 1.1);
    },
    HEAVY_MS,
  );

  it(
    "at the byte budget a new entry is refused, and the whole snapshot of the widest entries crosses RPC",
    async () => {
      const fits = Math.floor(MAX_REVOCATION_SNAPSHOT_BYTES / (ENTRY_OVERHEAD_BYTES + 3 * 2 * MAX_FIELD));
      const orgId = await orgOfWidest(fits);
      const org = stub(orgId);
      // The widest entry there is: a browser grant's, its id, client and person all two-byte.
      const grant = {
        orgId,
        grantId: `oidc-grant:${"\u4e00".repeat(MAX_FIELD - 11)}`,
        clientId: widest(fits + 1),
        subject: widest(fits + 2),
        reason: "t",
      };
      // Called inside the object: a rejection over RPC is also reported as the object's uncaught error.
      const refused = await runInDurableObject(org, (instance: OrgState) =>
        instance.revokeBrowserGrant(grant).then(
          () => undefined,
          (error: unknown) => error,
        ),
      );
      expect(refused).toMatchObject({
        code: ERR_ORG_STATE_REVOCATIONS_FULL,
        message: `${ERR_ORG_STATE_REVOCATIONS_FULL}: the org's live revocations fill its ${MAX_REVOCATION_SNAPSHOT_BYTES}-byte snapshot; retry once some expire`,
      });
      const answer = await org.sync(orgId, null);
      expect(answer.kind).toBe("snapshot");
      if (answer.kind === "snapshot") expect(answer.snapshot.entries).toHaveLength(fits + 1);
    },
    HEAVY_MS,
  );

  it("an org of our own ids reaches the entry cap before the byte budget when its entries are RFC 7009 jtis", () => {
    // A jti (a UUID) attributed to a client id of ours (32 characters): the common shape of a full org.
    expect(MAX_REVOCATION_ENTRIES_PER_ORG * (ENTRY_OVERHEAD_BYTES + 36 + 32)).toBeLessThanOrEqual(
      MAX_REVOCATION_SNAPSHOT_BYTES,
    );
  });
});
