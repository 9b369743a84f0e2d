// Every SCIM Group write first records the role cut-offs the org's earlier
// Group writes still owe (scim/roles.ts `settleOwedRoles`). It asked the
// org's Durable Object for all of them at once: a backlog past Workers'
// subrequest limit made every Group write of the org 503 until the token
// Worker's cron cleared it. Now a write records at most
// OWED_ROLES_PER_WRITE of them, oldest first, a few at a time, and answers
// 503 while any is left (the write being retried may be among them), so
// the directory's retries each work off a share and then succeed.
//
// The backlog is written as Group writes leave it (D1 `owed_member_cutoff`,
// reason `scim-role-changed`), oldest first by `created_at`; the org's
// object is the real one, and its own refusal (an id it cannot record)
// leaves a row owed.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OWED_ROLES_PER_WRITE as SHARE } from "../../workers/authn/src/scim/roles.ts";
import { inFlightTokenRevoked, unrecordableId } from "../support/runtime/owed-cutoffs.ts";
import { expectUnavailable, GROUP_SCHEMA, NOT_RECORDED, owedRows, scim, scimOrg } from "./scim-helpers.ts";

/** `people` owed role cut-offs in the org, the first oldest; their user ids in that order. */
async function backlog(orgId: string, people: string[]): Promise<string[]> {
  const start = Date.now() - 60_000;
  const rows = people.map((userId, i) =>
    env.DB.prepare(
      "INSERT INTO owed_member_cutoff (id, org_id, user_id, reason, previous_role, created_at) VALUES (?, ?, ?, 'scim-role-changed', 'admin', ?)",
    ).bind(crypto.randomUUID(), orgId, userId, start + i),
  );
  await env.DB.batch(rows);
  return people;
}

/**
 * Whether each person's token minted at `mintedAt` (ms: as the first write
 * over the backlog began, so before any cut-off it records) is refused.
 * Not "a second before the check": several writes of 50 object calls each
 * take longer than that on a loaded machine, and the check then failed with
 * nothing wrong (as in 3c01998).
 */
async function revoked(orgId: string, people: string[], mintedAt: number): Promise<boolean[]> {
  return Promise.all(people.map((userId) => inFlightTokenRevoked(orgId, userId, mintedAt)));
}

const engineering = { schemas: [GROUP_SCHEMA], displayName: "Engineering" };
const STILL_OWED = "earlier Group writes still owe role revocations; try again";

describe("a SCIM Group write over a backlog of owed role cut-offs", { timeout: 60_000 }, () => {
  it("records the oldest share and answers 503 while more are owed; the retries work the rest off, then the write lands", async () => {
    const { orgId, token } = await scimOrg();
    const people = await backlog(
      orgId,
      Array.from({ length: 2 * SHARE + 20 }, () => crypto.randomUUID()),
    );

    const writing = Date.now();
    const first = await scim("POST", "/Groups", token, engineering);
    await expectUnavailable(first, STILL_OWED);
    // The oldest share recorded and cleared, nothing after it; the write not made.
    expect(await owedRows(orgId)).toEqual(people.slice(SHARE));
    expect(await revoked(orgId, people.slice(0, SHARE), writing)).toEqual(Array(SHARE).fill(true));
    expect(await revoked(orgId, people.slice(SHARE, SHARE + 3), writing)).toEqual([false, false, false]);
    const none = await scim("GET", "/Groups", token);
    expect(await none.json()).toMatchObject({ totalResults: 0 });

    const second = await scim("POST", "/Groups", token, engineering);
    await expectUnavailable(second, STILL_OWED);
    expect(await owedRows(orgId)).toEqual(people.slice(2 * SHARE));

    // The last 20 are within a share: recorded, then the write is made and answered.
    const third = await scim("POST", "/Groups", token, engineering);
    expect(third.status).toBe(201);
    expect(await third.json()).toMatchObject({ displayName: "Engineering", members: [] });
    expect(await owedRows(orgId)).toEqual([]);
    expect((await revoked(orgId, people, writing)).every(Boolean)).toBe(true);
  });

  it("a backlog of exactly one share is recorded and the write answered at once", async () => {
    const { orgId, token } = await scimOrg();
    const people = await backlog(
      orgId,
      Array.from({ length: SHARE }, () => crypto.randomUUID()),
    );
    const writing = Date.now();
    const written = await scim("POST", "/Groups", token, engineering);
    expect(written.status).toBe(201);
    expect(await owedRows(orgId)).toEqual([]);
    expect((await revoked(orgId, people, writing)).every(Boolean)).toBe(true);
  });

  it("a row the org's object refuses stays and the write is 503, but the rows after it in the share are recorded and cleared", async () => {
    const { orgId, token } = await scimOrg();
    const refused = unrecordableId();
    const others = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await backlog(orgId, [refused, ...others]);

    const writing = Date.now();
    const written = await scim("POST", "/Groups", token, engineering);
    await expectUnavailable(written, NOT_RECORDED);
    expect(await owedRows(orgId)).toEqual([refused]);
    expect(await revoked(orgId, others, writing)).toEqual([true, true, true]);
  });

  it("race: concurrent Group writes over a backlog each settle a share; every row is recorded once the retries land", async () => {
    const { orgId, token } = await scimOrg();
    const people = await backlog(
      orgId,
      Array.from({ length: SHARE + 10 }, () => crypto.randomUUID()),
    );
    const names = ["Sales", "Support", "Research"];
    const writing = Date.now();
    const answers = await Promise.all(
      names.map((displayName) => scim("POST", "/Groups", token, { schemas: [GROUP_SCHEMA], displayName })),
    );
    for (const answer of answers) expect([201, 503]).toContain(answer.status);
    // The directory retries what answered 503; nothing is owed once they land.
    for (const [i, answer] of answers.entries()) {
      if (answer.status !== 503) continue;
      await expectUnavailable(answer, STILL_OWED);
      const retried = await scim("POST", "/Groups", token, { schemas: [GROUP_SCHEMA], displayName: names[i] });
      expect(retried.status).toBe(201);
    }
    expect(await owedRows(orgId)).toEqual([]);
    expect((await revoked(orgId, people, writing)).every(Boolean)).toBe(true);
    const listed = await (await scim("GET", "/Groups", token)).json();
    expect(listed).toMatchObject({ totalResults: 3 });
  });
});
