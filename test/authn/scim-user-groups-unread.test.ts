// A User answer that leaves `groups` out (RFC 7644 §3.4.2.5: `excludedAttributes=groups`, or
// `attributes=` naming no groups path) reads none of the person's Group memberships
// (workers/authn/src/scim/users.ts, user-store.ts, attribute-projection.ts returnsAttribute): the
// memberships query ran for every User of every answer, and the projection then dropped what it read.
// As for a Group's members (scim-group-members-unread.test.ts), D1 tells no caller what a Worker's
// statements read, so the stores are run here with drizzle's own query logger over the real D1
// (nothing mocked); the routes' answers are checked through the Worker.
import { describe, expect, it } from "vitest";
import { projectionOf, returnsAttribute } from "../../workers/authn/src/scim/attribute-projection.ts";
import { SCIM_SCHEMA } from "../../workers/authn/src/scim/resources.ts";
import { listUsers, userAnswer } from "../../workers/authn/src/scim/user-store.ts";
import {
  directoryGroup,
  directoryPeople,
  GROUP_SCHEMA,
  PATCH_SCHEMA,
  scim,
  scimOrg,
  USER_SCHEMA,
  recordingDb,
} from "./scim-helpers.ts";

const returnsGroups = (query: string) =>
  returnsAttribute(projectionOf(new URLSearchParams(query)), SCIM_SCHEMA.user, "groups");

describe("a User answer without groups reads no membership", { timeout: 60_000 }, () => {
  it("which projections return groups: only those that keep some of it", () => {
    const cases: [string, boolean][] = [
      ["", true],
      ["excludedAttributes=groups", false],
      ["excludedAttributes=GROUPS", false],
      [`excludedAttributes=${USER_SCHEMA}:groups`, false],
      ["excludedAttributes=emails, groups", false],
      ["excludedAttributes=groups.display", true],
      ["excludedAttributes=emails", true],
      // Qualified by another resource's schema, it names nothing of a User (§3.10).
      [`excludedAttributes=${GROUP_SCHEMA}:groups`, true],
      ["attributes=userName", false],
      ["attributes=id,externalId,active", false],
      [`attributes=${GROUP_SCHEMA}:groups`, false],
      ["attributes=groups", true],
      ["attributes=userName,Groups.Value", true],
      ["attributes=groups.display", true],
    ];
    for (const [query, expected] of cases) {
      expect({ query, returns: returnsGroups(query) }).toEqual({ query, returns: expected });
    }
  });

  it("the stores read memberships only when asked to", async () => {
    const { orgId } = await scimOrg();
    const people = await directoryPeople(orgId, 3);
    const [person = ""] = people;
    const groupId = await directoryGroup(orgId, people, `Eng ${crypto.randomUUID()}`);
    const query = { filter: undefined, startIndex: 1, count: 100 };

    const lean = recordingDb();
    const listed = await listUsers(lean.db, orgId, query, false);
    const got = await userAnswer(lean.db, orgId, person, false);
    expect(lean.membershipReads()).toBe(0);
    expect(listed.users.map((u) => u.groups).filter((g) => g !== undefined)).toEqual([]);
    expect(listed.users.map((u) => u.id).sort()).toEqual([...people].sort());
    expect(got.groups).toBeUndefined();

    const full = recordingDb();
    const listedFull = await listUsers(full.db, orgId, query, true);
    const gotFull = await userAnswer(full.db, orgId, person, true);
    expect(full.membershipReads()).toBe(2);
    expect(listedFull.users.map((u) => u.groups?.map((g) => g.id))).toEqual(people.map(() => [groupId]));
    expect(gotFull.groups?.map((g) => g.id)).toEqual([groupId]);
  });

  it("through the Worker: the lean answers carry no groups, the others the person's", async () => {
    const { orgId, token } = await scimOrg();
    const [person = ""] = await directoryPeople(orgId, 1);
    const displayName = `Ops ${crypto.randomUUID()}`;
    const groupId = await directoryGroup(orgId, [person], displayName);
    const body = async (method: string, path: string, payload?: unknown) => {
      const response = await scim(method, path, token, payload);
      expect(response.status, `${method} ${path}`).toBe(200);
      return (await response.json()) as Record<string, unknown> & { Resources?: Record<string, unknown>[] };
    };
    const filter = encodeURIComponent(`userName eq "${person}"`);
    const rename = { schemas: [PATCH_SCHEMA], Operations: [{ op: "replace", path: "displayName", value: "Renamed" }] };
    for (const [method, path, payload] of [
      ["GET", `/Users/${person}?excludedAttributes=groups`],
      ["GET", `/Users/${person}?attributes=userName`],
      ["GET", `/Users?filter=${filter}&excludedAttributes=groups`],
      ["PATCH", `/Users/${person}?excludedAttributes=groups`, rename],
    ] as const) {
      const answer = await body(method, path, payload);
      const resource = answer.Resources ? answer.Resources[0] : answer;
      expect({ path, resource }).toEqual({
        path,
        resource: expect.not.objectContaining({ groups: expect.anything() }),
      });
      expect(resource?.id, path).toBe(person);
    }
    for (const path of [`/Users/${person}`, `/Users/${person}?attributes=groups.value`]) {
      const groups = (await body("GET", path)).groups as { value: string }[];
      expect(
        groups.map((g) => g.value),
        path,
      ).toEqual([groupId]);
    }
  });
});
