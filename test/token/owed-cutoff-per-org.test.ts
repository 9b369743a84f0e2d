// The cron (workers/token/src/scheduled.ts) records each kind's owed
// cut-offs one org at a time (shared/revocation/owed-cutoff-queue.ts
// finishOwedRows): an org whose recording fails, the object refusing it or
// the recording throwing, is logged and postponed, and every other org of
// the run is recorded and cleared in that same run, not the next.
//
// The refusals are the org's Durable Object's own: it records no value
// longer than 256 characters (workers/org-state/src/revocation-recording.ts),
// so a person, an org or a grant with an id that long is refused.
//
// No kind's recording throws for a real row today: each catches its
// object's throws (the RPC included) and answers them as refusals
// (recordSubjectCutoffs, oneByOne), and neither naming the object nor
// auditing throws. So a throw is tested where the queue meets a kind
// (RecordOwedRows, the function a kind hands finishOwedRows): over the real
// D1 tables and the real member recording, one org's recording throws.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BROWSER_GRANT_ID_PREFIX } from "../../shared/contracts/oidc.ts";
import { finishOwedRows } from "../../shared/revocation/owed-cutoff-queue.ts";
import { OWED_MEMBER_CUTOFFS, OWED_ROW_GRACE_MS } from "../../shared/revocation/owed-member-cutoffs.ts";
import { recordSubjectCutoffs } from "../../shared/revocation/subject-cutoffs.ts";
import { inFlightTokenRevoked, unrecordableId } from "../support/runtime/owed-cutoffs.ts";
import { runCron } from "./cron-fixture.ts";
import { grantEntries } from "./grant-revocation-fixtures.ts";

/** Older than any row another test of this file leaves, and past every kind's in-flight window: first in a run's share. */
const LONG_AGO = Date.now() - 24 * 60 * 60_000 - OWED_ROW_GRACE_MS;

const newOrg = () => `org-${crypto.randomUUID()}`;

function oweMember(orgId: string, userId: string, createdAt: number) {
  return env.DB.prepare(
    "INSERT INTO owed_member_cutoff (id, org_id, user_id, reason, previous_role, created_at) VALUES (?, ?, ?, 'member-removed', 'member', ?)",
  ).bind(crypto.randomUUID(), orgId, userId, createdAt);
}

function oweOrg(orgId: string, createdAt: number) {
  return env.DB.prepare(
    "INSERT INTO owed_org_cutoff (id, org_id, reason, created_at) VALUES (?, ?, 'org-deleted', ?)",
  ).bind(crypto.randomUUID(), orgId, createdAt);
}

function oweGrant(orgId: string, grantId: string, createdAt: number) {
  return env.DB.prepare(
    `INSERT INTO owed_grant_cutoff (grant_id, org_id, client_id, user_id, presented, reason, created_at)
     VALUES (?, ?, ?, ?, ?, 'refresh token revoked', ?)`,
  ).bind(
    grantId,
    orgId,
    `client-${crypto.randomUUID()}`,
    `user-${crypto.randomUUID()}`,
    crypto.randomUUID(),
    createdAt,
  );
}

/** Each row the org still owes in `table`, with its place in the queue. */
async function owedIn(
  table: "owed_member_cutoff" | "owed_org_cutoff" | "owed_grant_cutoff",
  orgId: string,
): Promise<{ created_at: number }[]> {
  const rows = await env.DB.prepare(`SELECT created_at FROM ${table} WHERE org_id = ?`)
    .bind(orgId)
    .all<{ created_at: number }>();
  return rows.results;
}

/** Still owed, and sent to the back of the queue (its `created_at` the run's), not left oldest. */
async function expectPostponed(
  table: "owed_member_cutoff" | "owed_org_cutoff" | "owed_grant_cutoff",
  orgId: string,
  count: number,
  started: number,
): Promise<void> {
  const rows = await owedIn(table, orgId);
  expect(rows).toHaveLength(count);
  for (const row of rows) expect(row.created_at).toBeGreaterThanOrEqual(started);
}

describe("the cron: an org its object refuses keeps no other org's owed cut-offs waiting", () => {
  it("member cut-offs: the others' are recorded and cleared in the same run", async () => {
    const refused = newOrg();
    const waiting = [newOrg(), newOrg()];
    const people = waiting.map(() => `user-${crypto.randomUUID()}`);
    await env.DB.batch([
      oweMember(refused, unrecordableId(), LONG_AGO),
      ...waiting.map((orgId, i) => oweMember(orgId, people[i] ?? "", LONG_AGO + 1 + i)),
    ]);
    const started = Date.now();

    await runCron();

    for (const [i, orgId] of waiting.entries()) {
      expect(await inFlightTokenRevoked(orgId, people[i])).toBe(true);
      expect(await owedIn("owed_member_cutoff", orgId)).toEqual([]);
    }
    await expectPostponed("owed_member_cutoff", refused, 1, started);
  });

  it("org cut-offs: the others' are recorded and cleared in the same run", async () => {
    const refused = unrecordableId();
    const waiting = [newOrg(), newOrg()];
    await env.DB.batch([oweOrg(refused, LONG_AGO), ...waiting.map((orgId, i) => oweOrg(orgId, LONG_AGO + 1 + i))]);
    const started = Date.now();

    await runCron();

    for (const orgId of waiting) {
      expect(await inFlightTokenRevoked(orgId)).toBe(true);
      expect(await owedIn("owed_org_cutoff", orgId)).toEqual([]);
    }
    await expectPostponed("owed_org_cutoff", refused, 1, started);
  });

  it("grant cut-offs: the others' are recorded and cleared in the same run", async () => {
    const refused = newOrg();
    const waiting = [newOrg(), newOrg()];
    const grants = waiting.map(() => `${BROWSER_GRANT_ID_PREFIX}${crypto.randomUUID()}`);
    await env.DB.batch([
      oweGrant(refused, unrecordableId(), LONG_AGO),
      ...waiting.map((orgId, i) => oweGrant(orgId, grants[i] ?? "", LONG_AGO + 1 + i)),
    ]);
    const started = Date.now();

    await runCron();

    for (const [i, orgId] of waiting.entries()) {
      expect(await grantEntries(orgId)).toEqual([grants[i]]);
      expect(await owedIn("owed_grant_cutoff", orgId)).toEqual([]);
    }
    await expectPostponed("owed_grant_cutoff", refused, 1, started);
  });
});

describe("the queue: an org whose recording throws", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("is logged and postponed as a refusal; every other org's rows are recorded and cleared in the same run", async () => {
    const throwing = newOrg();
    const waiting = [newOrg(), newOrg()];
    const people = waiting.map(() => `user-${crypto.randomUUID()}`);
    const unrecorded = [`user-${crypto.randomUUID()}`, `user-${crypto.randomUUID()}`];
    // The throwing org's rows first in the share, so the others come after the throw.
    await env.DB.batch([
      ...unrecorded.map((userId, i) => oweMember(throwing, userId, LONG_AGO - 20 + i)),
      ...waiting.map((orgId, i) => oweMember(orgId, people[i] ?? "", LONG_AGO - 10 + i)),
    ]);
    const logged = vi.spyOn(console, "error");
    const started = Date.now();

    const run = await finishOwedRows(env.DB, OWED_MEMBER_CUTOFFS, (orgId, rows) => {
      if (orgId === throwing) throw new TypeError(`a message that may quote ${rows[0]?.userId}`);
      return recordSubjectCutoffs(env, orgId, rows);
    });

    expect(run.finished).toBeGreaterThanOrEqual(2);
    for (const [i, orgId] of waiting.entries()) {
      expect(await inFlightTokenRevoked(orgId, people[i])).toBe(true);
      expect(await owedIn("owed_member_cutoff", orgId)).toEqual([]);
    }
    await expectPostponed("owed_member_cutoff", throwing, 2, started);
    for (const userId of unrecorded) expect(await inFlightTokenRevoked(throwing, userId)).toBe(false);

    const lines = logged.mock.calls
      .map(([line]) => (typeof line === "string" && line.startsWith("{") ? JSON.parse(line) : null))
      .filter((line) => line?.event === "revocation.owed_cutoffs_not_recorded");
    expect(lines).toEqual([
      {
        level: "error",
        time: expect.any(String),
        event: "revocation.owed_cutoffs_not_recorded",
        worker: "token",
        table: "owed_member_cutoff",
        org_id: throwing,
        rows: 2,
        error: "TypeError",
      },
    ]);
  });
});
