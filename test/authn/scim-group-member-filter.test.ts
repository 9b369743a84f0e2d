// A Group list filtered on `members` (RFC 7644 §3.4.2.2; workers/authn/src/scim/group-store.ts
// GROUP_FILTERS): Microsoft Entra checks a membership before a PATCH with
// `GET /Groups?filter=id eq "<group>" and members eq "<user>"&excludedAttributes=members`
// (also `members.value eq`), which was 400 invalidFilter. Each test makes its own orgs, so its
// answers are exactly its own Groups; every refusal asserts its exact detail.
import { describe, expect, it } from "vitest";
import { GROUP_SCHEMA, provision, scim, scimError, scimOrg } from "./scim-helpers.ts";

const LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

async function group(token: string, members: string[]): Promise<string> {
  const response = await scim("POST", "/Groups", token, {
    schemas: [GROUP_SCHEMA],
    displayName: `G ${crypto.randomUUID()}`,
    members: members.map((value) => ({ value })),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function list(token: string, filter: string, extra = "") {
  const response = await scim("GET", `/Groups?filter=${encodeURIComponent(filter)}${extra}`, token);
  expect(response.status, `${filter}: ${await response.clone().text()}`).toBe(200);
  return (await response.json()) as Record<string, unknown> & { Resources: { id: string }[] };
}

async function ids(token: string, filter: string): Promise<string[]> {
  return (await list(token, filter)).Resources.map((r) => r.id).sort();
}

async function resource(token: string, id: string, query = ""): Promise<unknown> {
  const response = await scim("GET", `/Groups/${id}${query}`, token);
  expect(response.status).toBe(200);
  return response.json();
}

/** RFC 7644 §3.4.2 ListResponse, exactly. */
function listResponse(resources: unknown[]) {
  return {
    schemas: [LIST_SCHEMA],
    totalResults: resources.length,
    startIndex: 1,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

async function refused(token: string, filter: string, detail: string, resourceType = "Groups") {
  const response = await scim("GET", `/${resourceType}?filter=${encodeURIComponent(filter)}`, token);
  expect(response.status, filter).toBe(400);
  expect(await response.json(), filter).toEqual(scimError(400, "invalidFilter", `filter: ${detail}`));
}

describe("SCIM Group list filtered on members", { timeout: 60_000 }, () => {
  it("Entra's membership check: the Group for a member (members excluded on request), none for a non-member", async () => {
    const { token } = await scimOrg();
    const [alice, bob] = [await provision(token), await provision(token)];
    const eng = await group(token, [alice.id]);
    const lean = await resource(token, eng, "?excludedAttributes=members");
    expect(lean).not.toHaveProperty("members");
    for (const check of [`members eq "${alice.id}"`, `members.value eq "${alice.id}"`]) {
      const filter = `id eq "${eng}" and ${check}`;
      expect(await list(token, filter, "&excludedAttributes=members"), filter).toEqual(listResponse([lean]));
      expect(await list(token, filter), filter).toEqual(listResponse([await resource(token, eng)]));
      const absent = `id eq "${eng}" and ${check.replace(alice.id, bob.id)}`;
      expect(await list(token, absent, "&excludedAttributes=members"), absent).toEqual(listResponse([]));
    }
  });

  it("combines with and, or, not and value paths; pr is a non-empty Group; the id is compared exactly", async () => {
    const { token } = await scimOrg();
    const [alice, bob, carol] = [await provision(token), await provision(token), await provision(token)];
    const both = await group(token, [alice.id, bob.id]);
    const solo = await group(token, [carol.id]);
    const empty = await group(token, []);
    const sorted = (...list: string[]) => [...list].sort();
    const expectations: [string, string[]][] = [
      [`members eq "${alice.id}"`, [both]],
      [`members eq "${alice.id}" and members eq "${bob.id}"`, [both]],
      [`members eq "${alice.id}" and members eq "${carol.id}"`, []],
      [`members eq "${alice.id}" or members.value eq "${carol.id}"`, sorted(both, solo)],
      [`not (members eq "${alice.id}")`, sorted(solo, empty)],
      [`members[value eq "${carol.id}"]`, [solo]],
      [`members[value eq "${bob.id}" or value eq "${carol.id}"]`, sorted(both, solo)],
      [`MEMBERS.VALUE eq "${bob.id}"`, [both]],
      [`${GROUP_SCHEMA}:members eq "${bob.id}"`, [both]],
      [`members pr`, sorted(both, solo)],
      [`members.value pr`, sorted(both, solo)],
      [`not (members pr)`, [empty]],
      [`id eq "${empty}" and members pr`, []],
      // A User id is caseExact (RFC 7643 §3.1).
      [`members eq "${alice.id.toUpperCase()}"`, []],
      [`members eq ""`, []],
    ];
    for (const [filter, expected] of expectations) expect(await ids(token, filter), filter).toEqual(expected);
  });

  it("a Group of another org never matches, not even by its own id and member", async () => {
    const mine = await scimOrg();
    const theirs = await scimOrg();
    const dave = await provision(theirs.token);
    const foreign = await group(theirs.token, [dave.id]);
    const filter = `id eq "${foreign}" and members eq "${dave.id}"`;
    expect(await list(theirs.token, filter, "&excludedAttributes=members")).toEqual(
      listResponse([await resource(theirs.token, foreign, "?excludedAttributes=members")]),
    );
    expect(await list(mine.token, filter, "&excludedAttributes=members")).toEqual(listResponse([]));
    expect(await list(mine.token, `members eq "${dave.id}" or members pr`)).toEqual(listResponse([]));
  });

  it("hostile values find nothing or are 400 invalidFilter, never a 500", async () => {
    const { token } = await scimOrg();
    const alice = await provision(token);
    const eng = await group(token, [alice.id]);
    for (const value of [
      `${alice.id}" or "1"="1`,
      `${alice.id}') or 1=1 --`,
      "' or exists (select 1) --",
      `${alice.id}\u0000`,
      "%",
      "_".repeat(36),
      "x".repeat(1000),
    ]) {
      const filter = `members eq ${JSON.stringify(value)}`;
      expect(await list(token, filter), filter).toEqual(listResponse([]));
    }
    expect(await ids(token, `members eq ${JSON.stringify(alice.id)} or members eq "\\"'"`)).toEqual([eng]);
    const many = Array.from({ length: 17 }, () => `members eq "${alice.id}"`).join(" or ");
    const byId = 'it filters on members.value: members are matched by User id (members eq "…")';
    const cases: [string, string][] = [
      [`members eq "${"x".repeat(1020)}"`, "longer than 1024 characters"],
      [many, "makes more than 16 comparisons"],
      [`members eq "${alice.id}`, "cannot read it at character 12 (a string without its closing quote?)"],
      ["members eq 1", 'members is compared with a "quoted string"'],
      ["members", 'expected "["'],
      ['members.display eq "x"', `cannot filter on members.display; ${byId}`],
      ['members[type eq "User"]', `cannot filter on members.type; ${byId}`],
      ['owner eq "x"', "cannot filter on owner; it filters on displayName, externalId, id, members"],
    ];
    for (const [filter, detail] of cases) await refused(token, filter, detail);
    const onlyEq = 'members are matched by User id; not (members eq "…") for a non-member';
    for (const [filter, label, op] of [
      [`members ne "${alice.id}"`, "members", "ne"],
      [`members co "${alice.id.slice(0, 8)}"`, "members", "co"],
      [`members sw "${alice.id.slice(0, 8)}"`, "members", "sw"],
      [`members ew "${alice.id.slice(-8)}"`, "members", "ew"],
      [`members gt "a"`, "members", "gt"],
      [`members.value ne "${alice.id}"`, "members.value", "ne"],
      [`members[value co "a"]`, "members.value", "co"],
    ] as const) {
      await refused(token, filter, `${label} takes only eq or pr, not ${op}: ${onlyEq}`);
    }
    // Users offer no members filter (their groups are another attribute).
    await refused(
      token,
      `members eq "${alice.id}"`,
      "cannot filter on members; it filters on userName, externalId, id, emails",
      "Users",
    );
  });
});
