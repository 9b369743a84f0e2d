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
import { GROUP_SCHEMA, scim, scimError, scimOrg } from "./scim-helpers.ts";

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

/** People provisioned in the org's directory as members, written as SCIM writes them; their ids. */
async function directoryPeople(
  orgId: string,
  people: string[] = Array.from({ length: PEOPLE }, () => crypto.randomUUID()),
): Promise<string[]> {
  const now = Date.now();
  await env.DB.batch(
    people.flatMap((userId) => [
      env.DB.prepare("INSERT INTO user (id, name, email, created_at, updated_at) VALUES (?, 'P', ?, ?, ?)").bind(
        userId,
        `${userId}@corp.example`,
        now,
        now,
      ),
      env.DB.prepare(
        "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
      ).bind(crypto.randomUUID(), orgId, userId, now),
      env.DB.prepare(
        "INSERT INTO scim_user (user_id, org_id, user_name, user_name_key, active, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
      ).bind(userId, orgId, userId, userId, now, now),
    ]),
  );
  return people;
}

/** The directory's `admin` Group of these people, and their `admin` role, written as SCIM writes them; its id. */
async function adminGroup(orgId: string, people: string[]): Promise<string> {
  const groupId = crypto.randomUUID();
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO scim_group (id, org_id, display_name, display_name_key, created_at, updated_at) VALUES (?, ?, 'Admin', 'admin', ?, ?)",
    ).bind(groupId, orgId, now, now),
    env.DB.prepare(
      "INSERT INTO scim_group_member (group_id, user_id, created_at) SELECT ?, value, ? FROM json_each(?)",
    ).bind(groupId, now, JSON.stringify(people)),
    env.DB.prepare(
      "UPDATE member SET role = 'admin' WHERE organization_id = ? AND user_id IN (SELECT value FROM json_each(?))",
    ).bind(orgId, JSON.stringify(people)),
  ]);
  return groupId;
}

async function roles(orgId: string, people: string[]): Promise<Set<string>> {
  const rows = await env.DB.prepare(
    "SELECT role FROM member WHERE organization_id = ? AND user_id IN (SELECT value FROM json_each(?))",
  )
    .bind(orgId, JSON.stringify(people))
    .all<{ role: string }>();
  expect(rows.results).toHaveLength(people.length);
  return new Set(rows.results.map((r) => r.role));
}

async function owedRows(orgId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM owed_member_cutoff WHERE org_id = ?")
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? -1;
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
    const created = await scim("POST", "/Groups", token, {
      schemas: [GROUP_SCHEMA],
      displayName: "Admin",
      members: members(people),
    });
    expect(created.status).toBe(201);
    const groupId = String(((await created.json()) as { id: string }).id);
    expect(await roles(orgId, people)).toEqual(new Set(["admin"]));
    expect(await Promise.all(people.map((userId) => inFlightTokenRevoked(orgId, userId)))).toEqual(
      people.map(() => true),
    );

    const renamed = await scim("PUT", `/Groups/${groupId}`, token, {
      schemas: [GROUP_SCHEMA],
      displayName: "Engineering",
      members: members(people),
    });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ displayName: "Engineering" });
    expect(await roles(orgId, people)).toEqual(new Set(["member"]));
    // A token minted while the rename was in flight carries `admin`: the cut-off after the write refuses it.
    expect(await Promise.all(people.map((userId) => inFlightTokenRevoked(orgId, userId)))).toEqual(
      people.map(() => true),
    );
    expect(await owedRows(orgId)).toBe(0);
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
    const groupId = await adminGroup(orgId, people);
    const renamed = await scim("PUT", `/Groups/${groupId}`, token, {
      schemas: [GROUP_SCHEMA],
      displayName: "Engineering",
      members: [],
    });
    expect(renamed.status).toBe(503);
    expect(await renamed.json()).toEqual(scimError(503, undefined, "the revocation could not be recorded; try again"));
    expect(await scim("GET", `/Groups/${groupId}`, token).then((r) => r.json())).toMatchObject({
      displayName: "Admin",
    });
    expect(await roles(orgId, people)).toEqual(new Set(["admin"]));
    const recorded = people.filter((userId) => userId !== refused);
    expect(await Promise.all(recorded.map((userId) => inFlightTokenRevoked(orgId, userId)))).toEqual(
      recorded.map(() => true),
    );
    expect(await owedRows(orgId)).toBe(0);
  });
});
