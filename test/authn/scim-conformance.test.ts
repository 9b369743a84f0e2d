// RFC 7643/7644 conformance of the SCIM server (workers/authn/src/scim/):
// a discovered resource's own location resolves, a Group's readOnly
// attributes are refused as such, and a filter may name its attribute by
// the resource's core schema URN.
import { describe, expect, it } from "vitest";
import { GROUP_SCHEMA, PATCH_SCHEMA, provision, scim, scimError, scimOrg, USER_SCHEMA } from "./scim-helpers.ts";

async function group(token: string) {
  const response = await scim("POST", "/Groups", token, {
    schemas: [GROUP_SCHEMA],
    displayName: `g-${crypto.randomUUID()}`,
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; displayName: string };
}

describe("SCIM conformance", () => {
  it("GET /ResourceTypes/{id} answers the ResourceType its listing names at that location (RFC 7644 §4, RFC 7643 §6)", async () => {
    const { token } = await scimOrg();
    const listed = (await (await scim("GET", "/ResourceTypes", token)).json()) as {
      Resources: { id: string; meta: { location: string } }[];
    };
    for (const type of listed.Resources) {
      const response = await scim("GET", `/ResourceTypes/${type.id}`, token);
      expect(response.status, type.id).toBe(200);
      expect(response.headers.get("Content-Type"), type.id).toBe("application/scim+json");
      expect(await response.json(), type.id).toEqual(type);
      expect(type.meta.location.endsWith(`/scim/v2/ResourceTypes/${type.id}`)).toBe(true);
    }
    const unknown = await scim("GET", "/ResourceTypes/Device", token);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual(scimError(404, undefined, "no such SCIM endpoint"));
  });

  it("a Group PATCH of id or meta is 400 mutability, as for a User (RFC 7644 §3.5.2, RFC 7643 §3.1 readOnly)", async () => {
    const { token } = await scimOrg();
    const g = await group(token);
    for (const [path, value] of [
      ["id", "another"],
      ["meta.created", "2020-01-01T00:00:00Z"],
      [`${GROUP_SCHEMA}:id`, "another"],
    ] as const) {
      const response = await scim("PATCH", `/Groups/${g.id}`, token, {
        schemas: [PATCH_SCHEMA],
        Operations: [{ op: "replace", path, value }],
      });
      expect(response.status, path).toBe(400);
      expect(await response.json(), path).toEqual(scimError(400, "mutability", `${path} is read-only`));
    }
    const unchanged = (await (await scim("GET", `/Groups/${g.id}`, token)).json()) as { id: string };
    expect(unchanged.id).toBe(g.id);
  });

  it("a filter's attribute may be qualified with the resource's core schema URN (RFC 7644 §3.4.2.2, §3.10)", async () => {
    const { token } = await scimOrg();
    const person = await provision(token);
    const users = await scim(
      "GET",
      `/Users?filter=${encodeURIComponent(`${USER_SCHEMA}:userName eq "${person.userName}"`)}`,
      token,
    );
    expect(users.status).toBe(200);
    const found = (await users.json()) as { totalResults: number; Resources: { id: string }[] };
    expect(found.totalResults).toBe(1);
    expect(found.Resources.map((u) => u.id)).toEqual([person.id]);
    const g = await group(token);
    const groups = await scim(
      "GET",
      `/Groups?filter=${encodeURIComponent(`${GROUP_SCHEMA.toUpperCase()}:DISPLAYNAME eq "${g.displayName}"`)}`,
      token,
    );
    expect(groups.status).toBe(200);
    expect(((await groups.json()) as { Resources: { id: string }[] }).Resources.map((x) => x.id)).toEqual([g.id]);
    // Another resource's schema names no attribute of this one: still refused, never a wider answer.
    const crossed = await scim(
      "GET",
      `/Users?filter=${encodeURIComponent(`${GROUP_SCHEMA}:userName eq "${person.userName}"`)}`,
      token,
    );
    expect(crossed.status).toBe(400);
    expect(((await crossed.json()) as { scimType: string; status: string }).scimType).toBe("invalidFilter");
  });
});
