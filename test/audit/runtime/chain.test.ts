// Each org's audit events form a hash chain, written by the queue consumer
// (shared/audit/write-audit-batch.ts) and walked by verify
// (workers/token/src/audit/verify-chain.ts): an edited, deleted or
// reordered row is named, a replay never chains an event twice, and
// concurrent deliveries keep the chain linear.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { canonicalForm, canonicalHash, GENESIS_HASH, rowHash } from "../../../shared/audit/chain.ts";
import { AUDIT_DEAD_LETTER_QUEUE_NAME, AUDIT_QUEUE_NAME } from "../../../shared/audit/queues.ts";
import { writeAuditBatch } from "../../../shared/audit/write-audit-batch.ts";
import { PLATFORM_ORG_ID } from "../../../shared/contracts/tokens.ts";
import { auditHeadKey } from "../../../workers/token/src/audit/head-key.ts";
import { CHAIN_START, encodePosition, verifyChain } from "../../../workers/token/src/audit/verify-chain.ts";
import { auditRecord, type ChainRow, chainHead, chainRows, deliver } from "./deliveries.ts";

const headKey = () => auditHeadKey(env.KEY_ENCRYPTION_SECRET);

function freshOrg(): string {
  return `org-${crypto.randomUUID()}`;
}

/** `count` events of one org, in time order, delivered in one batch. */
async function chainOf(count: number, orgId = freshOrg()): Promise<{ orgId: string; rows: ChainRow[] }> {
  const t = Date.now();
  const records = Array.from({ length: count }, (_, i) =>
    auditRecord(orgId, { occurredAt: t + i, detail: JSON.stringify({ i }) }),
  );
  const result = await deliver(AUDIT_QUEUE_NAME, records);
  expect(result.retryMessages).toEqual([]);
  return { orgId, rows: await chainRows(orgId) };
}

function recomputed(row: ChainRow): Promise<string> {
  return rowHash({
    id: row.id,
    occurredAt: row.occurred_at,
    orgId: row.org_id,
    kind: row.kind,
    outcome: row.outcome,
    subject: row.subject,
    actor: row.actor,
    clientId: row.client_id,
    detail: row.detail,
    chain: row.chain,
    seq: row.seq,
    prevHash: row.prev_hash,
  });
}

/** A linear chain: seq 1..n, each row pointing at the one before, each hash its own. */
async function expectLinear(rows: readonly ChainRow[]): Promise<void> {
  let previous = GENESIS_HASH;
  for (const [i, row] of rows.entries()) {
    expect(row.seq).toBe(i + 1);
    expect(row.prev_hash).toBe(previous);
    expect(row.hash).toBe(await recomputed(row));
    previous = row.hash;
  }
  const head = await chainHead(rows[0]?.chain ?? "");
  expect(head).toEqual({ seq: rows.length, hash: previous });
}

async function exec(sql: string, ...params: unknown[]): Promise<void> {
  await env.AUDIT_DB.prepare(sql)
    .bind(...params)
    .run();
}

describe("audit hash chain: writing", () => {
  it("a delivery becomes a linear chain per org, in the events' order, and verifies", async () => {
    const { orgId, rows } = await chainOf(12);
    expect(rows.map((r) => JSON.parse(r.detail).i)).toEqual([...Array(12).keys()]);
    await expectLinear(rows);
    expect(rows[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000)).toEqual({
      org: orgId,
      ok: true,
      rows_checked: 12,
      last_seq: 12,
      last_hash: rows[11]?.hash,
      complete: true,
      next_cursor: null,
      broken: null,
    });
  });

  it("a delivery larger than one insert statement's JSON chunk lands whole, values and types as sent", async () => {
    // 100 events of ~6 KB detail each: about 1.8 MB counted as UTF-8, so several chunks (write-audit-batch.ts).
    const orgId = freshOrg();
    const t = Date.now();
    const records = Array.from({ length: 100 }, (_, i) =>
      auditRecord(orgId, { occurredAt: t + i, detail: JSON.stringify({ i, pad: 'é"\\'.repeat(2_000) }) }),
    );
    expect((await deliver(AUDIT_QUEUE_NAME, records)).retryMessages).toEqual([]);
    const rows = await chainRows(orgId);
    expect(rows.map((r) => JSON.parse(r.detail).i)).toEqual([...Array(100).keys()]);
    expect(rows.map((r) => r.detail)).toEqual(records.map((r) => r.detail));
    expect(rows.every((r, i) => r.occurred_at === t + i && typeof r.seq === "number")).toBe(true);
    await expectLinear(rows);
  });

  it("the canonical form is the documented JSON array, detail as stored text", () => {
    const form = canonicalForm({
      ...auditRecord("org-x", { id: "e1", occurredAt: 1700000000000, detail: '{"a":"\\u00e9"}' }),
      chain: "org-x",
      seq: 1,
      prevHash: GENESIS_HASH,
    });
    expect(form).toBe(
      `["mono-auth-audit/v1","org-x",1,"${GENESIS_HASH}","e1",1700000000000,"org-x","gateway.decision","allow","user-1",null,"c","{\\"a\\":\\"\\\\u00e9\\"}"]`,
    );
  });

  it("a row's hash is SHA-256 of the canonical form's UTF-8, lower-case hex (known answers, non-ASCII too)", async () => {
    expect(await canonicalHash("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await canonicalHash("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    // UTF-8, not UTF-16 or Latin-1: an exported row rebuilt by another language's SHA-256 (here Python's hashlib) agrees.
    expect(await canonicalHash('["é",1,"\u2028"]')).toBe(
      "f49f134548699fdf522b9e7b5a30d5375c8d3fc696f37e870aa4463bbeec1ec1",
    );
  });

  it("events of no org join the platform chain", async () => {
    const record = auditRecord(null, { subject: `nobody-${crypto.randomUUID()}` });
    await deliver(AUDIT_QUEUE_NAME, [record]);
    const row = await env.AUDIT_DB.prepare("SELECT chain, org_id, seq FROM audit_event WHERE id = ?")
      .bind(record.id)
      .first<{ chain: string; org_id: string | null; seq: number }>();
    expect(row).toMatchObject({ chain: PLATFORM_ORG_ID, org_id: null });
    expect(row?.seq).toBeGreaterThan(0);
  });

  it("later deliveries extend the chain from its head", async () => {
    const { orgId } = await chainOf(3);
    await chainOf(4, orgId);
    const rows = await chainRows(orgId);
    expect(rows).toHaveLength(7);
    await expectLinear(rows);
  });

  it("a replayed delivery, redelivered or from the dead-letter queue, is never chained twice", async () => {
    const orgId = freshOrg();
    const records = Array.from({ length: 8 }, (_, i) => auditRecord(orgId, { occurredAt: Date.now() + i }));
    await deliver(AUDIT_QUEUE_NAME, records.slice(0, 5));
    await deliver(AUDIT_QUEUE_NAME, records.slice(0, 5));
    // The dead-letter queue replays all of them, some already written.
    const replay = await deliver(AUDIT_DEAD_LETTER_QUEUE_NAME, records);
    expect(replay.ackAll).toBe(true);
    await deliver(AUDIT_DEAD_LETTER_QUEUE_NAME, records);
    const rows = await chainRows(orgId);
    expect(rows.map((r) => r.id)).toEqual(records.map((r) => r.id));
    await expectLinear(rows);
  });

  it("the same event twice in one delivery is chained once", async () => {
    const orgId = freshOrg();
    const record = auditRecord(orgId);
    const report = await writeAuditBatch(env.AUDIT_DB, [record, record, auditRecord(orgId)], await headKey());
    expect(report).toMatchObject({ written: 2, skipped: 1, attempts: 1 });
    await expectLinear(await chainRows(orgId));
  });

  it("concurrent deliveries to one chain keep it linear: the loser of a race retries from the new head", async () => {
    const orgId = freshOrg();
    const deliveries = Array.from({ length: 4 }, (_, d) =>
      Array.from({ length: 10 }, (_, i) => auditRecord(orgId, { occurredAt: Date.now() + d * 10 + i })),
    );
    // One event redelivered in two of them at once, as at-least-once delivery may.
    const shared = auditRecord(orgId);
    deliveries[0]?.push(shared);
    deliveries[3]?.push(shared);
    const key = await headKey();
    const reports = await Promise.all(deliveries.map((records) => writeAuditBatch(env.AUDIT_DB, records, key)));
    expect(reports.reduce((sum, r) => sum + r.written, 0)).toBe(41);
    // They did race: at least one lost and wrote again.
    expect(reports.some((r) => r.attempts > 1)).toBe(true);
    const rows = await chainRows(orgId);
    expect(rows).toHaveLength(41);
    expect(new Set(rows.map((r) => r.id)).size).toBe(41);
    await expectLinear(rows);
    expect((await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000)).ok).toBe(true);
  });

  it("rows from before chains: migration 0002 names their org; they are queried, never walked", async () => {
    const orgId = freshOrg();
    const legacy = auditRecord(orgId, { occurredAt: Date.now() - 1000 });
    // As the consumer wrote them before migration 0001: no chain columns.
    await exec(
      "INSERT INTO audit_event (id, occurred_at, org_id, kind, outcome, subject, actor, client_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ...[legacy.id, legacy.occurredAt, orgId, legacy.kind, legacy.outcome, legacy.subject, null, legacy.clientId],
      legacy.detail,
    );
    const migration = env.TEST_AUDIT_MIGRATIONS.find((m) => m.name.startsWith("0002_"));
    for (const query of migration?.queries ?? []) await exec(query);
    const { rows } = await chainOf(2, orgId);
    expect(rows.map((r) => [r.id === legacy.id, r.seq])).toEqual([
      [true, null],
      [false, 1],
      [false, 2],
    ]);
    expect(await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000)).toMatchObject({
      ok: true,
      rows_checked: 2,
    });
  });

  it("a tail deleted before the next write: the next row chains from the head, so the gap stays visible", async () => {
    const { orgId, rows } = await chainOf(4);
    await exec("DELETE FROM audit_event WHERE chain = ? AND seq >= 3", orgId);
    await chainOf(1, orgId);
    const after = await chainRows(orgId);
    expect(after.map((r) => r.seq)).toEqual([1, 2, 5]);
    expect(after[2]?.prev_hash).toBe(rows[3]?.hash);
    expect((await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000)).broken).toMatchObject({
      reason: "missing_rows",
      id: after[2]?.id,
      seq: 5,
      expected_seq: 3,
    });
  });
});

describe("audit hash chain: verify names the first broken link", () => {
  it("an edited row: its own hash no longer matches", async () => {
    const { orgId, rows } = await chainOf(6);
    const target = rows[2] as ChainRow;
    await exec("UPDATE audit_event SET detail = ? WHERE id = ?", JSON.stringify({ i: 99 }), target.id);
    const report = await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000);
    expect(report).toMatchObject({ ok: false, complete: false, next_cursor: null, rows_checked: 2, last_seq: 2 });
    expect(report.broken).toEqual({
      reason: "hash_mismatch",
      id: target.id,
      seq: 3,
      expected_seq: 3,
      expected_hash: await recomputed({ ...target, detail: JSON.stringify({ i: 99 }) }),
      found_hash: target.hash,
    });
  });

  it("an edited row whose hash was recomputed: the next row no longer points at it", async () => {
    const { orgId, rows } = await chainOf(6);
    const target = rows[2] as ChainRow;
    const edited = { ...target, outcome: "deny" };
    await exec("UPDATE audit_event SET outcome = 'deny', hash = ? WHERE id = ?", await recomputed(edited), target.id);
    const report = await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000);
    expect(report.broken).toEqual({
      reason: "prev_hash_mismatch",
      id: rows[3]?.id,
      seq: 4,
      expected_seq: 4,
      expected_hash: await recomputed(edited),
      found_hash: target.hash,
    });
  });

  it("a deleted row: the gap, at the row after it", async () => {
    const { orgId, rows } = await chainOf(6);
    await exec("DELETE FROM audit_event WHERE id = ?", rows[2]?.id);
    const report = await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000);
    expect(report.broken).toEqual({
      reason: "missing_rows",
      id: rows[3]?.id,
      seq: 4,
      expected_seq: 3,
      expected_hash: rows[1]?.hash,
      found_hash: rows[2]?.hash,
    });
  });

  it("rows deleted from the end: the head names them", async () => {
    const { orgId, rows } = await chainOf(5);
    await exec("DELETE FROM audit_event WHERE chain = ? AND seq >= 4", orgId);
    const report = await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000);
    expect(report).toMatchObject({ ok: false, rows_checked: 3 });
    expect(report.broken).toEqual({
      reason: "missing_rows",
      id: null,
      seq: 5,
      expected_seq: 4,
      expected_hash: rows[4]?.hash,
      found_hash: rows[2]?.hash,
    });
  });

  it("rows deleted from the end and the head set back to the new last row: its MAC no longer matches", async () => {
    const { orgId, rows } = await chainOf(5);
    await exec("DELETE FROM audit_event WHERE chain = ? AND seq >= 4", orgId);
    // No hash recomputed: the new last row's own seq and hash, as a writer would have left them.
    await exec("UPDATE audit_chain_head SET seq = 3, hash = ? WHERE chain = ?", rows[2]?.hash, orgId);
    const report = await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000);
    expect(report).toMatchObject({ ok: false, complete: false, rows_checked: 3 });
    expect(report.broken).toEqual({
      reason: "head_mismatch",
      id: rows[2]?.id,
      seq: 3,
      expected_seq: 3,
      expected_hash: rows[2]?.hash,
      found_hash: rows[2]?.hash,
    });
    // Nor does another chain's MAC, or none at all, pass for it.
    const other = await chainOf(3);
    const otherMac = await env.AUDIT_DB.prepare("SELECT mac FROM audit_chain_head WHERE chain = ?")
      .bind(other.orgId)
      .first<{ mac: string }>();
    expect(otherMac?.mac).toMatch(/^[0-9a-f]{64}$/);
    await exec("UPDATE audit_chain_head SET mac = ? WHERE chain = ?", otherMac?.mac, orgId);
    expect((await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000)).broken?.reason).toBe(
      "head_mismatch",
    );
    await exec("UPDATE audit_chain_head SET mac = NULL WHERE chain = ?", orgId);
    expect((await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000)).broken?.reason).toBe(
      "head_mismatch",
    );
  });

  it("two rows reordered (their seqs swapped): the first of them is named", async () => {
    const { orgId, rows } = await chainOf(5);
    await exec("UPDATE audit_event SET seq = -1 WHERE id = ?", rows[1]?.id);
    await exec("UPDATE audit_event SET seq = 2 WHERE id = ?", rows[2]?.id);
    await exec("UPDATE audit_event SET seq = 3 WHERE id = ?", rows[1]?.id);
    const report = await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000);
    expect(report.broken).toMatchObject({
      reason: "hash_mismatch",
      id: rows[2]?.id,
      seq: 2,
      found_hash: rows[2]?.hash,
    });
  });

  it("a head record edited or deleted", async () => {
    const { orgId, rows } = await chainOf(3);
    await exec("UPDATE audit_chain_head SET hash = ? WHERE chain = ?", "f".repeat(64), orgId);
    expect((await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000)).broken).toEqual({
      reason: "head_mismatch",
      id: rows[2]?.id,
      seq: 3,
      expected_seq: 3,
      expected_hash: rows[2]?.hash,
      found_hash: "f".repeat(64),
    });
    await exec("DELETE FROM audit_chain_head WHERE chain = ?", orgId);
    expect((await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000)).broken).toMatchObject({
      reason: "head_missing",
      id: rows[2]?.id,
      seq: 3,
    });
  });

  it("pages: bounded rows per call, resumed from the cursor; a cursor with the wrong hash breaks at once", async () => {
    const { orgId, rows } = await chainOf(10);
    const first = await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 4);
    expect(first).toMatchObject({ ok: true, complete: false, rows_checked: 4, last_seq: 4 });
    expect(first.next_cursor).toBe(encodePosition({ seq: 4, hash: rows[3]?.hash as string }));
    const second = await verifyChain(
      env.AUDIT_DB,
      await headKey(),
      orgId,
      { seq: 4, hash: rows[3]?.hash as string },
      4,
    );
    expect(second).toMatchObject({ ok: true, complete: false, rows_checked: 4, last_seq: 8 });
    const third = await verifyChain(env.AUDIT_DB, await headKey(), orgId, { seq: 8, hash: rows[7]?.hash as string }, 4);
    expect(third).toMatchObject({ ok: true, complete: true, rows_checked: 2, last_seq: 10, next_cursor: null });
    // A head kept from an earlier verify that the chain no longer agrees with.
    const forged = await verifyChain(env.AUDIT_DB, await headKey(), orgId, { seq: 4, hash: "a".repeat(64) }, 4);
    expect(forged.broken).toMatchObject({ reason: "prev_hash_mismatch", id: rows[4]?.id, seq: 5 });
  });

  it("an empty chain verifies, with nothing checked", async () => {
    expect(await verifyChain(env.AUDIT_DB, await headKey(), freshOrg(), CHAIN_START, 1000)).toMatchObject({
      ok: true,
      complete: true,
      rows_checked: 0,
      last_seq: 0,
      last_hash: GENESIS_HASH,
    });
  });
});
