// RFC 7644 §3.4.2.5 `attributes` / `excludedAttributes` on the SCIM Users
// and Groups (workers/authn/src/scim/attribute-projection.ts): reads, lists
// and (§3.9) the answers of writes; `id` and `schemas` always come back; a
// list that names no attribute path is 400 invalidValue and changes nothing.
import { describe, expect, it } from "vitest";
import {
  GROUP_SCHEMA,
  provision,
  scim,
  scimError,
  scimOrg,
  scimUserName,
  USER_SCHEMA,
  userBody,
} from "./scim-helpers.ts";

async function json(response: Response, status = 200): Promise<Record<string, unknown>> {
  expect(response.status, await response.clone().text()).toBe(status);
  return (await response.json()) as Record<string, unknown>;
}

async function groupWith(token: string, memberId: string) {
  const displayName = `Group ${crypto.randomUUID()}`;
  const created = await json(
    await scim("POST", "/Groups", token, { schemas: [GROUP_SCHEMA], displayName, members: [{ value: memberId }] }),
    201,
  );
  return { id: created.id as string, displayName };
}

describe("SCIM attributes and excludedAttributes (RFC 7644 §3.4.2.5)", () => {
  it("attributes returns only the named attributes and sub-attributes, with id and schemas", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    expect(await json(await scim("GET", `/Users/${person.id}?attributes=userName`, token))).toEqual({
      schemas: [USER_SCHEMA],
      id: person.id,
      userName: person.userName,
    });
    // Case-insensitive (RFC 7643 §2.1), sub-attributes of a complex and of a multi-valued attribute.
    expect(await json(await scim("GET", `/Users/${person.id}?attributes=NAME.givenName,emails.value`, token))).toEqual({
      schemas: [USER_SCHEMA],
      id: person.id,
      name: { givenName: "Ada" },
      emails: [{ value: person.userName }],
    });
  });

  it("excludedAttributes leaves the named ones out, never id or schemas", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    const full = await json(await scim("GET", `/Users/${person.id}`, token));
    const trimmed = await json(
      await scim("GET", `/Users/${person.id}?excludedAttributes=groups,meta,id,schemas,name.familyName`, token),
    );
    const { groups: _groups, meta: _meta, ...rest } = full;
    expect(trimmed).toEqual({ ...rest, name: { givenName: "Ada" } });
  });

  it("a path qualified by the resource's schema URN selects; by another resource's, nothing (§3.10)", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    expect(await json(await scim("GET", `/Users/${person.id}?attributes=${USER_SCHEMA}:userName`, token))).toEqual({
      schemas: [USER_SCHEMA],
      id: person.id,
      userName: person.userName,
    });
    expect(await json(await scim("GET", `/Users/${person.id}?attributes=${GROUP_SCHEMA}:userName`, token))).toEqual({
      schemas: [USER_SCHEMA],
      id: person.id,
    });
  });

  it("applies to each resource of a list: a Group looked up without its members, as Entra asks", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    const group = await groupWith(token, person.id);
    const filter = encodeURIComponent(`displayName eq "${group.displayName}"`);
    const list = await json(await scim("GET", `/Groups?excludedAttributes=members&filter=${filter}`, token));
    expect(list).toMatchObject({ totalResults: 1, itemsPerPage: 1 });
    const [found] = list.Resources as Record<string, unknown>[];
    expect(found).toMatchObject({ id: group.id, displayName: group.displayName });
    expect(found).not.toHaveProperty("members");
    const users = await json(await scim("GET", "/Users?attributes=userName", token));
    for (const user of users.Resources as Record<string, unknown>[]) {
      expect(Object.keys(user).sort()).toEqual(["id", "schemas", "userName"]);
    }
  });

  it("applies to the answers of POST, PUT and PATCH (§3.9), the Location kept", async () => {
    const { token } = await scimOrg();
    const created = await scim("POST", "/Users?attributes=id", token, userBody(scimUserName()));
    const body = await json(created, 201);
    expect(body).toEqual({ schemas: [USER_SCHEMA], id: body.id });
    expect(created.headers.get("Location")).toMatch(new RegExp(`/Users/${body.id}$`));
    const group = await groupWith(token, body.id as string);
    const patched = await scim("PATCH", `/Groups/${group.id}?excludedAttributes=members`, token, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", path: "displayName", value: `${group.displayName} renamed` }],
    });
    expect(await json(patched)).toMatchObject({ id: group.id, displayName: `${group.displayName} renamed` });
    expect(await json(await scim("GET", `/Groups/${group.id}?attributes=members.value`, token))).toEqual({
      schemas: [GROUP_SCHEMA],
      id: group.id,
      members: [{ value: body.id }],
    });
  });

  it("refuses a list that names no attribute path, or both parameters, with 400 invalidValue and writes nothing", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    const cases: [string, string][] = [
      ["attributes=", "attributes: a list of attribute names"],
      ["attributes=userName,,name", "not an attribute path: "],
      ["excludedAttributes=name..givenName", "not an attribute path: name..givenName"],
      ["attributes=a.b.c", "not an attribute path: a.b.c"],
      ["attributes=userName&excludedAttributes=name", "give attributes or excludedAttributes once, not both or twice"],
      ["attributes=userName&attributes=name", "give attributes or excludedAttributes once, not both or twice"],
    ];
    for (const [query, detail] of cases) {
      expect(await json(await scim("GET", `/Users/${person.id}?${query}`, token), 400), query).toEqual(
        scimError(400, "invalidValue", detail),
      );
    }
    const userName = scimUserName();
    const refused = await scim("POST", "/Users?attributes=a..b", token, userBody(userName));
    expect(await json(refused, 400)).toEqual(scimError(400, "invalidValue", "not an attribute path: a..b"));
    const filter = encodeURIComponent(`userName eq "${userName}"`);
    expect(await json(await scim("GET", `/Users?filter=${filter}`, token))).toMatchObject({ totalResults: 0 });
  });
});
