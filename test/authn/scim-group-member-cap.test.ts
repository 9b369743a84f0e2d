// A SCIM Group write names at most MAX_GROUP_MEMBERS_PER_WRITE members
// (scim/resources.ts): a POST or PUT's `members`, or a PATCH's member
// values and `members[value eq …]` removals together. Past it the write is
// RFC 7644 §3.12 `400 invalidValue` before anything is read or written.
// Okta and Microsoft Entra send a large group's membership as PATCHes of
// about 100 members: one such page lands as before.
//
// Member ids here are short, so a body naming the cap's worth still fits
// under the authn Worker's request byte cap (MAX_REQUEST_BODY_BYTES).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_GROUP_MEMBERS_PER_WRITE as CAP } from "../../workers/authn/src/scim/resources.ts";
import { GROUP_SCHEMA, PATCH_SCHEMA, scim, scimError, scimOrg } from "./scim-helpers.ts";

const tooMany = scimError(
  400,
  "invalidValue",
  `a Group write names at most ${CAP} members; send the rest in further PATCH requests`,
);

/** `count` short member ids (base 36), none of them a User: the cap is checked before they are looked up. */
const ids = (count: number, from = 0) => Array.from({ length: count }, (_, i) => (from + i).toString(36));
const members = (list: string[]) => list.map((value) => ({ value }));

/** `count` people provisioned in the org's directory, written as SCIM writes them; their ids. */
async function directoryPeople(orgId: string, count: number): Promise<string[]> {
  const now = Date.now();
  const people = Array.from({ length: count }, () => crypto.randomUUID());
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

async function newGroup(token: string) {
  const created = await scim("POST", "/Groups", token, { schemas: [GROUP_SCHEMA], displayName: "Engineering" });
  expect(created.status).toBe(201);
  return String(((await created.json()) as { id: string }).id);
}

async function memberCount(token: string, groupId: string): Promise<number> {
  const read = await scim("GET", `/Groups/${groupId}`, token);
  return ((await read.json()) as { members: unknown[] }).members.length;
}

describe("SCIM Group writes and their member cap", { timeout: 60_000 }, () => {
  it("a POST naming more than the cap is 400 invalidValue and creates nothing", async () => {
    const { token } = await scimOrg();
    const created = await scim("POST", "/Groups", token, {
      schemas: [GROUP_SCHEMA],
      displayName: "Everyone",
      members: members(ids(CAP + 1)),
    });
    expect(created.status).toBe(400);
    expect(await created.json()).toEqual(tooMany);
    expect(await (await scim("GET", "/Groups", token)).json()).toMatchObject({ totalResults: 0 });
  });

  it("a PUT naming more than the cap is 400 invalidValue and leaves the Group as it was", async () => {
    const { orgId, token } = await scimOrg();
    const groupId = await newGroup(token);
    const [person] = await directoryPeople(orgId, 1);
    const kept = await scim("PATCH", `/Groups/${groupId}`, token, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: "add", path: "members", value: [{ value: person }] }],
    });
    expect(kept.status).toBe(200);
    const replaced = await scim("PUT", `/Groups/${groupId}`, token, {
      schemas: [GROUP_SCHEMA],
      displayName: "Renamed",
      members: members(ids(CAP + 1)),
    });
    expect(replaced.status).toBe(400);
    expect(await replaced.json()).toEqual(tooMany);
    const read = await (await scim("GET", `/Groups/${groupId}`, token)).json();
    expect(read).toMatchObject({ displayName: "Engineering", members: [{ value: person }] });
  });

  it("a PATCH is counted across its operations, filtered removals included", async () => {
    const { token } = await scimOrg();
    const groupId = await newGroup(token);
    const half = Math.floor(CAP / 2);
    for (const Operations of [
      // Two adds that together pass it.
      [
        { op: "add", path: "members", value: members(ids(half)) },
        { op: "add", path: "members", value: members(ids(CAP + 1 - half, half)) },
      ],
      // A replace at the cap plus one filtered removal.
      [
        { op: "replace", path: "members", value: members(ids(CAP)) },
        { op: "remove", path: 'members[value eq "zz"]' },
      ],
      // The path-less form (§3.5.2.1): an object whose `members` holds them.
      [{ op: "add", value: { members: members(ids(CAP + 1)) } }],
    ]) {
      const patched = await scim("PATCH", `/Groups/${groupId}`, token, { schemas: [PATCH_SCHEMA], Operations });
      expect(patched.status).toBe(400);
      expect(await patched.json()).toEqual(tooMany);
    }
    expect(await memberCount(token, groupId)).toBe(0);
  });

  it("exactly the cap passes it: the ids are then looked up (none is a User here: 400 for that, not the cap)", async () => {
    const { token } = await scimOrg();
    const groupId = await newGroup(token);
    const patched = await scim("PATCH", `/Groups/${groupId}`, token, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: "add", path: "members", value: members(ids(CAP)) }],
    });
    expect(patched.status).toBe(400);
    expect(await patched.json()).toEqual(
      scimError(400, "invalidValue", "every member must be a User of this organization's directory"),
    );
  });

  it("a directory's page of 100 members per PATCH lands, page after page", async () => {
    const { orgId, token } = await scimOrg();
    const groupId = await newGroup(token);
    const people = await directoryPeople(orgId, 200);
    for (const page of [people.slice(0, 100), people.slice(100)]) {
      const patched = await scim("PATCH", `/Groups/${groupId}`, token, {
        schemas: [PATCH_SCHEMA],
        Operations: [{ op: "add", path: "members", value: members(page) }],
      });
      expect(patched.status).toBe(200);
    }
    expect(await memberCount(token, groupId)).toBe(200);
  });
});
