// A SCIM Group holds at most MAX_GROUP_MEMBERS members (scim/resources.ts),
// and so one Group write names at most that many: a POST or PUT's
// `members`, or a PATCH's member values and `members[value eq …]` removals
// together. Past it the write is RFC 7644 §3.12 `400 invalidValue` before
// anything is read or written. A PATCH naming fewer that would grow the
// Group past it is the same `400 invalidValue`, decided on the Group as it
// is written (group-store.ts), and changes nothing: bounded only per write,
// pages of `add`s grew a Group without limit, and its DELETE or rename then
// changed every member's role in one write. Okta and Microsoft Entra send a
// large group's membership as PATCHes of about 100 members: one such page
// lands as before.
//
// Member ids here are short, so a body naming the cap's worth still fits
// under the authn Worker's request byte cap (MAX_REQUEST_BODY_BYTES).
import { describe, expect, it } from "vitest";
import { MAX_GROUP_MEMBERS as CAP } from "../../workers/authn/src/scim/resources.ts";
import {
  directoryGroup,
  directoryPeople,
  GROUP_SCHEMA,
  PATCH_SCHEMA,
  scim,
  scimError,
  scimOrg,
} from "./scim-helpers.ts";

const tooMany = scimError(
  400,
  "invalidValue",
  `a Group write names at most ${CAP} members; send the rest in further PATCH requests`,
);
const tooLarge = scimError(400, "invalidValue", `a Group has at most ${CAP} members`);

/** `count` short member ids (base 36), none of them a User: the cap is checked before they are looked up. */
const ids = (count: number, from = 0) => Array.from({ length: count }, (_, i) => (from + i).toString(36));
const members = (list: string[]) => list.map((value) => ({ value }));

const addMembers = (list: string[]) => ({
  schemas: [PATCH_SCHEMA],
  Operations: [{ op: "add", path: "members", value: members(list) }],
});

async function newGroup(token: string) {
  const created = await scim("POST", "/Groups", token, { schemas: [GROUP_SCHEMA], displayName: "Engineering" });
  expect(created.status).toBe(201);
  return String(((await created.json()) as { id: string }).id);
}

async function memberIds(token: string, groupId: string): Promise<string[]> {
  const read = await scim("GET", `/Groups/${groupId}`, token);
  return ((await read.json()) as { members: { value: string }[] }).members.map((m) => m.value);
}

async function memberCount(token: string, groupId: string): Promise<number> {
  return (await memberIds(token, groupId)).length;
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

  it("a PATCH add that would grow the Group past the cap is 400 invalidValue and changes nothing; up to the cap lands", async () => {
    const { orgId, token } = await scimOrg();
    const people = await directoryPeople(orgId, CAP + 2);
    const [last = "", extra = ""] = people.slice(CAP);
    const groupId = await directoryGroup(orgId, people.slice(0, CAP - 1), "Engineering");

    const past = await scim("PATCH", `/Groups/${groupId}`, token, addMembers([people[CAP - 1] ?? "", last]));
    expect(past.status).toBe(400);
    expect(await past.json()).toEqual(tooLarge);
    expect(await memberCount(token, groupId)).toBe(CAP - 1);

    const full = await scim("PATCH", `/Groups/${groupId}`, token, addMembers([people[CAP - 1] ?? ""]));
    expect(full.status).toBe(200);
    expect(await memberCount(token, groupId)).toBe(CAP);

    const over = await scim("PATCH", `/Groups/${groupId}`, token, addMembers([last]));
    expect(over.status).toBe(400);
    expect(await over.json()).toEqual(tooLarge);
    // A rename too is refused while its PATCH would grow the Group: nothing of it is written.
    const renamed = await scim("PATCH", `/Groups/${groupId}`, token, {
      schemas: [PATCH_SCHEMA],
      Operations: [
        { op: "replace", path: "displayName", value: "Admin" },
        { op: "add", path: "members", value: members([extra]) },
      ],
    });
    expect(renamed.status).toBe(400);
    expect(await renamed.json()).toEqual(tooLarge);
    expect(await (await scim("GET", `/Groups/${groupId}`, token)).json()).toMatchObject({ displayName: "Engineering" });
    expect(await memberIds(token, groupId)).not.toContain(last);

    // One out and one in keeps it at the cap.
    const swapped = await scim("PATCH", `/Groups/${groupId}`, token, {
      schemas: [PATCH_SCHEMA],
      Operations: [
        { op: "remove", path: `members[value eq "${people[0]}"]` },
        { op: "add", path: "members", value: members([last]) },
      ],
    });
    expect(swapped.status).toBe(200);
    const after = await memberIds(token, groupId);
    expect(after).toHaveLength(CAP);
    expect(after).toContain(last);
    expect(after).not.toContain(people[0]);
  });

  it("race: concurrent PATCHes that each fit but together pass the cap: one lands, the other is 400, the Group stays at the cap", async () => {
    const { orgId, token } = await scimOrg();
    const people = await directoryPeople(orgId, CAP + 1);
    const groupId = await directoryGroup(orgId, people.slice(0, CAP - 1), "Engineering");
    const [a = "", b = ""] = people.slice(CAP - 1);

    const answers = await Promise.all(
      [a, b].map((person) => scim("PATCH", `/Groups/${groupId}`, token, addMembers([person]))),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 400]);
    const refused = answers.find((r) => r.status === 400);
    expect(await refused?.json()).toEqual(tooLarge);
    const after = await memberIds(token, groupId);
    expect(after).toHaveLength(CAP);
    expect(after.filter((id) => id === a || id === b)).toHaveLength(1);
  });

  it("a Group already past the cap (from before it was enforced) may shrink, but not grow", async () => {
    const { orgId, token } = await scimOrg();
    const people = await directoryPeople(orgId, CAP + 2);
    const groupId = await directoryGroup(orgId, people.slice(0, CAP + 1), "Engineering");
    const outside = people[CAP + 1] ?? "";

    const grown = await scim("PATCH", `/Groups/${groupId}`, token, addMembers([outside]));
    expect(grown.status).toBe(400);
    expect(await grown.json()).toEqual(tooLarge);
    expect(await memberCount(token, groupId)).toBe(CAP + 1);

    const shrunk = await scim("PATCH", `/Groups/${groupId}`, token, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: "remove", path: `members[value eq "${people[0]}"]` }],
    });
    expect(shrunk.status).toBe(200);
    expect(await memberCount(token, groupId)).toBe(CAP);
  });
});
