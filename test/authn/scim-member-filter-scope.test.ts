// Where a filter may name a Group's `members` (RFC 7644 §3.4.2.2; workers/authn/src/scim/filter.ts,
// group-store.ts GROUP_FILTERS). A Users resource has no `members` (RFC 7643 §4.1: a User's
// memberships are its read-only `groups`), so every form of it on /Users is an unknown attribute:
// §3.4.2.2 and §3.12 `400 invalidFilter`. On /Groups a membership row holds only the member's User id,
// the `value` Microsoft Entra checks (`members eq "<id>"`); neither Entra nor Okta filters on a
// member's `display`, `$ref` or `type`, so those are `400 invalidFilter` naming the sub-attribute
// and what is filterable instead, never a silently wider answer. As attribute paths
// (`attributes=members.display`, §3.4.2.5) they are served: projection needs no filter.
import { describe, expect, it } from "vitest";
import { GROUP_SCHEMA, provision, scim, scimError, scimOrg, USER_SCHEMA } from "./scim-helpers.ts";

async function refused(token: string, resourceType: "Users" | "Groups", filter: string, detail: string) {
  const response = await scim("GET", `/${resourceType}?filter=${encodeURIComponent(filter)}`, token);
  expect({ filter, status: response.status, body: await response.json() }).toEqual({
    filter,
    status: 400,
    body: scimError(400, "invalidFilter", `filter: ${detail}`),
  });
}

const USERS_FILTER_ON = "it filters on userName, externalId, id, emails";
const MEMBERS_BY_ID = 'it filters on members.value: members are matched by User id (members eq "…")';

describe("SCIM filters naming members: only a Group's members.value", { timeout: 60_000 }, () => {
  it("on /Users every form of members is 400 invalidFilter: a User has no members", async () => {
    const { token } = await scimOrg();
    const alice = await provision(token);
    const cases: [string, string][] = [
      [`members eq "${alice.id}"`, "members"],
      [`MEMBERS eq "${alice.id}"`, "MEMBERS"],
      [`members.value eq "${alice.id}"`, "members.value"],
      ['members.display eq "x"', "members.display"],
      [`members[value eq "${alice.id}"]`, "members"],
      ["members pr", "members"],
      ["not (members pr)", "members"],
      [`userName eq "${alice.userName}" or members eq "${alice.id}"`, "members"],
      [`${USER_SCHEMA}:members eq "${alice.id}"`, "members"],
    ];
    for (const [filter, named] of cases) {
      await refused(token, "Users", filter, `cannot filter on ${named}; ${USERS_FILTER_ON}`);
    }
  });

  it("on /Groups a member's display, $ref or type is 400 invalidFilter naming the sub-attribute", async () => {
    const { token } = await scimOrg();
    const cases: [string, string][] = [
      ['members.display eq "x"', "members.display"],
      ['MEMBERS.DISPLAY eq "x"', "members.DISPLAY"],
      ["members.display pr", "members.display"],
      ['members[display eq "x"]', "members.display"],
      ['members[value pr and display co "x"]', "members.display"],
      ['members[value eq "x"].display eq "y"', "members.display"],
      [`${GROUP_SCHEMA}:members.display eq "x"`, "members.display"],
      ['members.$ref eq "x"', "members.$ref"],
      ['members.type eq "User"', "members.type"],
      ['members[type eq "User"]', "members.type"],
    ];
    for (const [filter, named] of cases) {
      await refused(token, "Groups", filter, `cannot filter on ${named}; ${MEMBERS_BY_ID}`);
    }
    // The same precision for a User's emails.
    await refused(
      token,
      "Users",
      'emails[display eq "x"]',
      "cannot filter on emails.display; it filters on emails.value, emails.type, emails.primary",
    );
  });

  it("as attribute paths a member's display is served: attributes=members.display, excludedAttributes=members.display", async () => {
    const { token } = await scimOrg();
    const alice = await provision(token);
    const created = await scim("POST", "/Groups", token, {
      schemas: [GROUP_SCHEMA],
      displayName: `G ${crypto.randomUUID()}`,
      members: [{ value: alice.id }],
    });
    const group = (await created.json()) as { id: string; members: { $ref: string }[] };
    const only = await scim("GET", `/Groups/${group.id}?attributes=members.display`, token);
    expect(await only.json()).toEqual({
      schemas: [GROUP_SCHEMA],
      id: group.id,
      members: [{ display: alice.userName }],
    });
    const rest = (await (
      await scim("GET", `/Groups/${group.id}?excludedAttributes=members.display`, token)
    ).json()) as {
      members: unknown[];
    };
    expect(rest.members).toEqual([{ value: alice.id, $ref: group.members[0]?.$ref }]);
  });
});
