// Schema URNs in any case (RFC 7644 §3.10: "All facets (URN, attribute, and
// sub-attribute name) of the fully encoded attribute name are case
// insensitive"): in a body's `schemas` list, in a qualified PATCH path, a
// filter and a /Schemas/{id} lookup (workers/authn/src/scim/resources.ts
// namesSchema).
import { describe, expect, it } from "vitest";
import { GROUP_SCHEMA, PATCH_SCHEMA, scim, scimError, scimOrg, scimUserName, USER_SCHEMA } from "./scim-helpers.ts";

const upper = (urn: string) => urn.toUpperCase();
const mixed = (urn: string) =>
  urn.replace("scim:schemas", "SCIM:Schemas").replace(/User$|Group$/, (s) => s.toLowerCase());

describe("SCIM schema URNs in any case", { timeout: 60_000 }, () => {
  it("a body's schemas list names its schema in any case; another resource's schema is still 400 invalidSyntax", async () => {
    const { token } = await scimOrg();
    const userName = scimUserName();
    // Compared exactly, each of these was 400 invalidSyntax ("schemas must include …").
    const created = await scim("POST", "/Users", token, { schemas: [upper(USER_SCHEMA)], userName });
    expect(created.status, await created.clone().text()).toBe(201);
    const { id } = (await created.json()) as { id: string };

    const put = await scim("PUT", `/Users/${id}`, token, {
      schemas: [mixed(USER_SCHEMA)],
      userName,
      displayName: "Put",
    });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { displayName: string }).displayName).toBe("Put");

    const patched = await scim("PATCH", `/Users/${id}`, token, {
      schemas: [upper(PATCH_SCHEMA)],
      Operations: [{ op: "replace", path: `${upper(USER_SCHEMA)}:NAME.GIVENNAME`, value: "Grace" }],
    });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { name: { givenName: string } }).name.givenName).toBe("Grace");

    const group = await scim("POST", "/Groups", token, {
      schemas: [mixed(GROUP_SCHEMA)],
      displayName: `g-${crypto.randomUUID()}`,
      members: [{ value: id }],
    });
    expect(group.status).toBe(201);

    const filter = encodeURIComponent(`${upper(USER_SCHEMA)}:USERNAME eq "${userName}"`);
    const found = (await (await scim("GET", `/Users?filter=${filter}`, token)).json()) as { totalResults: number };
    expect(found.totalResults).toBe(1);

    const wrong = await scim("POST", "/Users", token, { schemas: [upper(GROUP_SCHEMA)], userName: scimUserName() });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual(scimError(400, "invalidSyntax", `schemas must include ${USER_SCHEMA}`));
  });

  it("GET /Schemas/{id} finds the schema by its URN in any case, and answers its own id", async () => {
    const { token } = await scimOrg();
    const response = await scim("GET", `/Schemas/${mixed(USER_SCHEMA)}`, token);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { id: string }).id).toBe(USER_SCHEMA);
    const unknown = await scim("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Nothing", token);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual(scimError(404, undefined, "no such Schema"));
  });
});
