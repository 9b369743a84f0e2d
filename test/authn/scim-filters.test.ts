// List filters (RFC 7644 §3.4.2.2; workers/authn/src/scim/filter.ts,
// filter-sql.ts): and/or/not with §3.4.2.2's precedence, pr, co/sw/ew, value
// paths on emails (Entra's `emails[type eq "work"].value eq "…"` too), each
// in one fresh org so its answers are exactly this file's people; and a
// clean 400 invalidFilter, with its detail, for what is not supported or
// past the parse bounds.
import { describe, expect, it } from "vitest";
import { GROUP_SCHEMA, SCIM_DOMAIN, scim, scimError, scimOrg, USER_SCHEMA } from "./scim-helpers.ts";

async function ids(token: string, resource: "Users" | "Groups", filter: string, extra = "") {
  const response = await scim("GET", `/${resource}?filter=${encodeURIComponent(filter)}${extra}`, token);
  expect(response.status, `${filter}: ${await response.clone().text()}`).toBe(200);
  const list = (await response.json()) as { totalResults: number; Resources: { id: string }[] };
  return { total: list.totalResults, ids: list.Resources.map((r) => r.id).sort() };
}

async function refused(token: string, resource: "Users" | "Groups", filter: string, detail: string) {
  const response = await scim("GET", `/${resource}?filter=${encodeURIComponent(filter)}`, token);
  expect(response.status, filter).toBe(400);
  expect(await response.json(), filter).toEqual(scimError(400, "invalidFilter", `filter: ${detail}`));
}

async function people(token: string, tag: string) {
  const made: Record<string, string> = {};
  for (const [name, externalId] of [
    ["alice", `ext-A-${tag}`],
    ["bob", `ext-B-${tag}`],
    ["carol", undefined],
  ] as const) {
    const userName = `${name}-${tag}@${SCIM_DOMAIN}`;
    const response = await scim("POST", "/Users", token, {
      schemas: [USER_SCHEMA],
      userName,
      ...(externalId ? { externalId } : {}),
    });
    expect(response.status).toBe(201);
    made[name] = ((await response.json()) as { id: string }).id;
  }
  return made as { alice: string; bob: string; carol: string };
}

describe("SCIM list filters", { timeout: 60_000 }, () => {
  it("and, or, not, pr, co, sw, ew and emails value paths select exactly the people they name", async () => {
    const { token } = await scimOrg();
    const tag = crypto.randomUUID().slice(0, 8);
    const { alice, bob, carol } = await people(token, tag);
    const sorted = (...list: string[]) => [...list].sort();
    const expectations: [string, string[]][] = [
      [`userName sw "alice-${tag}"`, [alice]],
      // userName is caseExact false (RFC 7643 §4.1.1).
      [`USERNAME SW "ALICE-${tag.toUpperCase()}"`, [alice]],
      [`userName co "${tag}" and externalId pr`, sorted(alice, bob)],
      [`userName eq "alice-${tag}@${SCIM_DOMAIN}" or userName eq "bob-${tag}@${SCIM_DOMAIN}"`, sorted(alice, bob)],
      [`userName co "${tag}" and not (externalId pr)`, [carol]],
      // Carol has no externalId: `eq` is false for her, so `not` holds (SQL's NULL would have dropped her).
      [`userName co "${tag}" and not (externalId eq "ext-A-${tag}")`, sorted(bob, carol)],
      [`userName co "${tag}" and externalId ne "ext-A-${tag}"`, sorted(bob, carol)],
      [`externalId ew "-A-${tag}"`, [alice]],
      // externalId is caseExact (RFC 7643 §3.1).
      [`externalId sw "EXT-A-${tag}"`, []],
      [`emails[type eq "work" and value sw "bob-${tag}"]`, [bob]],
      [`emails[type eq "work"].value eq "BOB-${tag}@${SCIM_DOMAIN}"`, [bob]],
      [`userName co "${tag}" and emails[type eq "home"]`, []],
      [`emails.value ew "@${SCIM_DOMAIN}" and emails[primary eq true]`, sorted(alice, bob, carol)],
      [`${USER_SCHEMA}:emails.value co "${tag}" and not (userName sw "alice")`, sorted(bob, carol)],
      // `and` binds tighter than `or` (§3.4.2.2): carol, not (carol or alice) and nothing.
      [
        `userName eq "carol-${tag}@${SCIM_DOMAIN}" or userName eq "alice-${tag}@${SCIM_DOMAIN}" and externalId eq "nope"`,
        [carol],
      ],
      [`(userName sw "carol" or userName sw "alice") and externalId pr`, [alice]],
      // Compared as text, never as a LIKE pattern: `_` and `%` are no wildcards.
      ['userName co "_"', []],
      ['userName co "%"', []],
    ];
    for (const [filter, expected] of expectations) {
      expect((await ids(token, "Users", filter)).ids, filter).toEqual(expected);
    }
    const page = await ids(token, "Users", `userName co "${tag}" or externalId pr`, "&count=1&startIndex=2");
    expect(page.total).toBe(3);
    expect(page.ids).toHaveLength(1);
  });

  it("Groups take the same filters on displayName, externalId and id", async () => {
    const { token } = await scimOrg();
    const tag = crypto.randomUUID().slice(0, 8);
    const made: string[] = [];
    for (const displayName of [`Eng ${tag}`, `Sales ${tag}`]) {
      const response = await scim("POST", "/Groups", token, { schemas: [GROUP_SCHEMA], displayName });
      made.push(((await response.json()) as { id: string }).id);
    }
    const [eng = "", sales = ""] = made;
    expect((await ids(token, "Groups", `displayName sw "ENG ${tag}" or displayName eq "sales ${tag}"`)).ids).toEqual(
      [eng, sales].sort(),
    );
    expect((await ids(token, "Groups", `displayName co "${tag}" and not (displayName sw "eng")`)).ids).toEqual([sales]);
    expect((await ids(token, "Groups", `id eq "${eng}" or externalId pr`)).ids).toEqual([eng]);
  });

  it("what stays unsupported, and a filter past the parse bounds, is 400 invalidFilter with its reason", async () => {
    const { token } = await scimOrg();
    const deep = `${"not (".repeat(9)}userName pr${")".repeat(9)}`;
    const many = Array.from({ length: 17 }, (_, i) => `userName eq "u${i}"`).join(" or ");
    const cases: ["Users" | "Groups", string, string][] = [
      ["Users", 'userName gt "a"', "gt is not supported; use eq, ne, co, sw, ew or pr"],
      [
        "Users",
        'name.givenName eq "Ada"',
        "cannot filter on name.givenName; it filters on userName, externalId, id, emails",
      ],
      [
        "Users",
        `${GROUP_SCHEMA}:displayName eq "x"`,
        `cannot filter on ${GROUP_SCHEMA}:displayName; it filters on userName, externalId, id, emails`,
      ],
      ["Users", deep, "nests deeper than 8 levels"],
      ["Users", many, "makes more than 16 comparisons"],
      ["Users", `userName eq "${"x".repeat(1020)}"`, "longer than 1024 characters"],
      ["Users", '(userName eq "x"', 'expected ")"'],
      ["Users", 'emails[type eq "work"', 'expected "]"'],
      ["Users", 'userName eq "x" userName', 'unexpected "userName"'],
      ["Users", "userName eq true", 'userName is compared with a "quoted string"'],
      ["Users", 'emails[primary eq "yes"]', "emails.primary is a boolean: eq or ne true or false"],
      ["Users", 'userName eq "unterminated', "cannot read it at character 13 (a string without its closing quote?)"],
      [
        "Users",
        'userName.value eq "x"',
        "cannot filter on userName.value; it filters on userName, externalId, id, emails",
      ],
      [
        "Users",
        'emails[display eq "x"]',
        "cannot filter on emails.display; it filters on emails.value, emails.type, emails.primary",
      ],
      ["Users", "constructor pr", "cannot filter on constructor; it filters on userName, externalId, id, emails"],
      [
        "Groups",
        'members.display eq "x"',
        'cannot filter on members.display; it filters on members.value: members are matched by User id (members eq "…")',
      ],
    ];
    for (const [resource, filter, detail] of cases) await refused(token, resource, filter, detail);
  });
});
