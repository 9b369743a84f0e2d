// A Group answer that leaves `members` out (RFC 7644 §3.4.2.5: `excludedAttributes=members`, or
// `attributes=` naming no members) reads no member row (workers/authn/src/scim/groups.ts,
// group-store.ts, attribute-projection.ts returnsAttribute). Microsoft Entra looks every Group up so,
// and each lookup read up to MAX_GROUP_MEMBERS rows only for the projection to drop them. D1 tells
// no caller what a Worker's statements read, so the stores are run here with drizzle's own query
// logger over the real D1 (nothing mocked); the routes' answers are checked through the Worker.
import { describe, expect, it } from "vitest";
import { projectionOf, returnsAttribute } from "../../workers/authn/src/scim/attribute-projection.ts";
import { groupAnswer, listGroups } from "../../workers/authn/src/scim/group-store.ts";
import { SCIM_SCHEMA } from "../../workers/authn/src/scim/resources.ts";
import {
  directoryGroup,
  directoryPeople,
  GROUP_SCHEMA,
  scim,
  scimOrg,
  USER_SCHEMA,
  recordingDb,
} from "./scim-helpers.ts";

const returnsMembers = (query: string) =>
  returnsAttribute(projectionOf(new URLSearchParams(query)), SCIM_SCHEMA.group, "members");

describe("a Group answer without members reads no member row", { timeout: 60_000 }, () => {
  it("which projections return members: only those that keep some of it", () => {
    const cases: [string, boolean][] = [
      ["", true],
      ["excludedAttributes=members", false],
      ["excludedAttributes=MEMBERS", false],
      [`excludedAttributes=${GROUP_SCHEMA}:members`, false],
      ["excludedAttributes=displayName, members", false],
      ["excludedAttributes=members.display", true],
      ["excludedAttributes=displayName", true],
      // Qualified by another resource's schema, it names nothing of a Group (§3.10).
      [`excludedAttributes=${USER_SCHEMA}:members`, true],
      ["attributes=displayName", false],
      ["attributes=id,externalId", false],
      [`attributes=${USER_SCHEMA}:members`, false],
      ["attributes=members", true],
      ["attributes=displayName,Members.Value", true],
      ["attributes=members.display", true],
    ];
    for (const [query, expected] of cases)
      expect({ query, returns: returnsMembers(query) }).toEqual({
        query,
        returns: expected,
      });
  });

  it("the stores read member rows only when asked to", async () => {
    const { orgId } = await scimOrg();
    const people = await directoryPeople(orgId, 3);
    const groupId = await directoryGroup(orgId, people, `Big ${crypto.randomUUID()}`);
    const query = { filter: undefined, startIndex: 1, count: 100 };

    const lean = recordingDb();
    const listed = await listGroups(lean.db, orgId, query, false);
    const got = await groupAnswer(lean.db, orgId, groupId, false);
    expect(lean.membershipReads()).toBe(0);
    expect(listed.groups.map((g) => [g.id, g.members])).toEqual([[groupId, undefined]]);
    expect(got.members).toBeUndefined();

    const full = recordingDb();
    const listedFull = await listGroups(full.db, orgId, query, true);
    const gotFull = await groupAnswer(full.db, orgId, groupId, true);
    expect(full.membershipReads()).toBe(2);
    expect(listedFull.groups[0]?.members?.map((m) => m.id).sort()).toEqual([...people].sort());
    expect(gotFull.members?.map((m) => m.id).sort()).toEqual([...people].sort());
  });

  it("through the Worker: the lean answers carry no members, the others all of them", async () => {
    const { orgId, token } = await scimOrg();
    const people = await directoryPeople(orgId, 2);
    const displayName = `Eng ${crypto.randomUUID()}`;
    const groupId = await directoryGroup(orgId, people, displayName);
    const body = async (path: string) => {
      const response = await scim("GET", path, token);
      expect(response.status, path).toBe(200);
      return (await response.json()) as Record<string, unknown> & { Resources?: Record<string, unknown>[] };
    };
    const filter = encodeURIComponent(`displayName eq "${displayName}"`);
    for (const path of [
      `/Groups/${groupId}?excludedAttributes=members`,
      `/Groups/${groupId}?attributes=displayName`,
      `/Groups?filter=${filter}&excludedAttributes=members`,
    ]) {
      const answer = await body(path);
      const resource = answer.Resources ? answer.Resources[0] : answer;
      expect({ path, resource }).toEqual({
        path,
        resource: expect.not.objectContaining({ members: expect.anything() }),
      });
      expect(resource?.id, path).toBe(groupId);
    }
    for (const path of [`/Groups/${groupId}`, `/Groups/${groupId}?attributes=members.value`]) {
      const members = (await body(path)).members as { value: string }[];
      expect(members.map((m) => m.value).sort(), path).toEqual([...people].sort());
    }
  });
});
