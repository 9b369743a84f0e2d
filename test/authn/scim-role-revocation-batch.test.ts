// A SCIM Group write that changes the role of many people cuts each of them
// off with one call to the org's object per MAX_SUBJECT_REVOCATIONS_PER_CALL
// people (OrgState.revokeSubjects), before its write and after it
// (scim/roles.ts). One call per person took a rename of a large `admin`
// Group past Workers' subrequest limit, so such a write could only fail.
// Every person is still cut off and audited as before, and no cut-off is
// left owed.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_SUBJECT_REVOCATIONS_PER_CALL } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { inFlightTokenRevoked, unrecordableId } from "../support/runtime/owed-cutoffs.ts";
import {
  directoryGroup,
  directoryPeople,
  expectUnavailable,
  GROUP_SCHEMA,
  NOT_RECORDED,
  owedRows,
  rolesIn,
  scim,
  scimOrg,
} from "./scim-helpers.ts";

/** Past one call's worth, so the write's cut-offs go in two calls (chunks of MAX_SUBJECT_REVOCATIONS_PER_CALL). */
const MANY = MAX_SUBJECT_REVOCATIONS_PER_CALL + 100;
const PEOPLE = 300;

/**
 * `count` short person ids (a random tag, then base 36): a Group write naming
 * MANY of them still fits under the authn Worker's request byte cap
 * (MAX_REQUEST_BODY_BYTES), as scim-group-member-cap.test.ts's do.
 */
function shortIds(count: number): string[] {
  const tag = crypto.randomUUID().slice(0, 5);
  return Array.from({ length: count }, (_, i) => `${tag}${i.toString(36).padStart(3, "0")}`);
}

async function roles(orgId: string, people: string[]): Promise<Set<string | undefined>> {
  return new Set(await rolesIn(orgId, people));
}

/** The org's `revocation.recorded` audit records of subject cut-offs: person → how many. */
async function auditedCutoffs(orgId: string): Promise<Map<string, number>> {
  const rows = await env.AUDIT_DB.prepare(
    "SELECT subject, detail FROM audit_event WHERE kind = 'revocation.recorded' AND org_id = ?",
  )
    .bind(orgId)
    .all<{ subject: string; detail: string }>();
  const counts = new Map<string, number>();
  for (const row of rows.results) {
    const detail = JSON.parse(row.detail) as Record<string, unknown>;
    expect(detail).toEqual({
      revocation_kind: "subject",
      value: row.subject,
      reason: "scim-role-changed",
      version: expect.any(Number),
    });
    counts.set(row.subject, (counts.get(row.subject) ?? 0) + 1);
  }
  return counts;
}

const members = (people: string[]) => people.map((value) => ({ value }));

describe("a SCIM Group write that changes the role of many people", { timeout: 120_000 }, () => {
  it(`a PUT renaming an admin Group of ${MANY} demotes them all and cuts each off, before and after the write`, async () => {
    const { orgId, token } = await scimOrg();
    const people = await directoryPeople(orgId, shortIds(MANY));
    // Tokens are minted as each write begins, not a second before the check: a write of
    // 300 people's cut-offs takes longer than that on a loaded machine (as in 3c01998).
    const creating = Date.now();
    const created = await scim("POST", "/Groups", token, {
      schemas: [GROUP_SCHEMA],
      displayName: "Admin",
      members: members(people),
    });
    expect(created.status).toBe(201);
    const groupId = String(((await created.json()) as { id: string }).id);
    expect(await roles(orgId, people)).toEqual(new Set(["admin"]));
    expect(await Promise.all(people.map((userId) => inFlightTokenRevoked(orgId, userId, creating)))).toEqual(
      people.map(() => true),
    );

    const renaming = Date.now();
    const renamed = await scim("PUT", `/Groups/${groupId}`, token, {
      schemas: [GROUP_SCHEMA],
      displayName: "Engineering",
      members: members(people),
    });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ displayName: "Engineering" });
    expect(await roles(orgId, people)).toEqual(new Set(["member"]));
    // A token minted while the rename was in flight carries `admin`: the cut-off after the write refuses it.
    expect(await Promise.all(people.map((userId) => inFlightTokenRevoked(orgId, userId, renaming)))).toEqual(
      people.map(() => true),
    );
    expect(await owedRows(orgId)).toEqual([]);
    // Two writes, each recording every person's cut-off before and after it: four per person, each audited.
    await expect
      .poll(async () => [...(await auditedCutoffs(orgId)).values()].reduce((a, b) => a + b, 0))
      .toBe(MANY * 4);
    const audited = await auditedCutoffs(orgId);
    expect(new Set(audited.keys())).toEqual(new Set(people));
    expect(new Set(audited.values())).toEqual(new Set([4]));
    // One log event per cut-off: the org's version counts them.
    expect((await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId)).version).toBe(MANY * 4);
  });

  it("a person the org's object refuses leaves the write 503 with nothing changed; the others' cut-offs are recorded", async () => {
    const { orgId, token } = await scimOrg();
    // Longer than the object takes (unrecordableId): a real refusal of the real object.
    const refused = unrecordableId();
    const people = await directoryPeople(orgId, [
      ...Array.from({ length: PEOPLE }, () => crypto.randomUUID()),
      refused,
    ]);
    const groupId = await directoryGroup(orgId, people);
    const renaming = Date.now();
    const renamed = await scim("PUT", `/Groups/${groupId}`, token, {
      schemas: [GROUP_SCHEMA],
      displayName: "Engineering",
      members: [],
    });
    await expectUnavailable(renamed, NOT_RECORDED);
    expect(await scim("GET", `/Groups/${groupId}`, token).then((r) => r.json())).toMatchObject({
      displayName: "Admin",
    });
    expect(await roles(orgId, people)).toEqual(new Set(["admin"]));
    const recorded = people.filter((userId) => userId !== refused);
    expect(await Promise.all(recorded.map((userId) => inFlightTokenRevoked(orgId, userId, renaming)))).toEqual(
      recorded.map(() => true),
    );
    expect(await owedRows(orgId)).toEqual([]);
  });
});
