// Concurrent PATCHes of one SCIM Group (RFC 7644 §3.5.2), as directories
// send them: Entra ID and Okta push membership changes of a large group in
// parallel requests, each naming only the members it adds or removes. Each
// must land: a removal lost to a racing one left a person in the `admin`
// Group, and with the org's admin role, after the directory took them out.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GROUP_SCHEMA, PATCH_SCHEMA, provision, scim, scimError, scimOrg } from "./scim-helpers.ts";

const PEOPLE = 8;

async function roles(orgId: string, userIds: string[]) {
  const rows = await Promise.all(
    userIds.map((id) =>
      env.DB.prepare("SELECT role FROM member WHERE organization_id = ? AND user_id = ?")
        .bind(orgId, id)
        .first<{ role: string }>(),
    ),
  );
  return rows.map((row) => row?.role);
}

async function memberIds(token: string, groupId: string) {
  const response = await scim("GET", `/Groups/${groupId}`, token);
  expect(response.status).toBe(200);
  return ((await response.json()) as { members: { value: string }[] }).members.map((m) => m.value).sort();
}

function patch(...Operations: unknown[]) {
  return { schemas: [PATCH_SCHEMA], Operations };
}

describe("SCIM Group PATCHes racing each other", { timeout: 60_000 }, () => {
  it("concurrent removals from the admin Group each take their member out, and with it the admin role", async () => {
    const { token, orgId } = await scimOrg();
    const people = await Promise.all(Array.from({ length: PEOPLE }, () => provision(token)));
    const ids = people.map((p) => p.id);
    const created = await scim("POST", "/Groups", token, {
      schemas: [GROUP_SCHEMA],
      displayName: "admin",
      members: ids.map((value) => ({ value })),
    });
    expect(created.status).toBe(201);
    const { id: groupId } = (await created.json()) as { id: string };
    expect(await roles(orgId, ids)).toEqual(ids.map(() => "admin"));

    // Fired at once: each request removes one person.
    const answers = await Promise.all(
      ids.map((id) =>
        scim("PATCH", `/Groups/${groupId}`, token, patch({ op: "remove", path: `members[value eq "${id}"]` })),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(ids.map(() => 200));
    expect(await memberIds(token, groupId)).toEqual([]);
    expect(await roles(orgId, ids)).toEqual(ids.map(() => "member"));
  });

  it("a filtered replace racing the removal of its member: decided on the Group it lands on, whichever comes first", async () => {
    const { token, orgId } = await scimOrg();
    const [ada, bob, cy] = await Promise.all([provision(token), provision(token), provision(token)]);
    const created = await scim("POST", "/Groups", token, {
      schemas: [GROUP_SCHEMA],
      displayName: "admin",
      members: [{ value: ada.id }, { value: cy.id }],
    });
    const { id: groupId } = (await created.json()) as { id: string };
    const path = `members[value eq "${ada.id}"]`;

    const [replaced, removed] = await Promise.all([
      scim("PATCH", `/Groups/${groupId}`, token, patch({ op: "replace", path, value: { value: bob.id } })),
      scim("PATCH", `/Groups/${groupId}`, token, patch({ op: "remove", path })),
    ]);
    // Removing someone already gone is 200 (RFC 7644 §3.5.2.2), so the removal answers 200 either way.
    expect(removed.status).toBe(200);
    const members = await memberIds(token, groupId);
    if (replaced.status === 200) {
      // The replace landed first: Bob took Ada's place, and the removal then found no Ada.
      expect(members).toEqual([bob.id, cy.id].sort());
      expect(await roles(orgId, [ada.id, bob.id, cy.id])).toEqual(["member", "admin", "admin"]);
    } else {
      // The removal landed first: the replace, read again, matched no member (§3.5.2.3) and wrote nothing.
      expect(replaced.status).toBe(400);
      expect(await replaced.json()).toEqual(scimError(400, "noTarget", `${path} matches no member of this Group`));
      expect(members).toEqual([cy.id]);
      expect(await roles(orgId, [ada.id, bob.id, cy.id])).toEqual(["member", "member", "admin"]);
    }
  });

  it("concurrent additions to one Group each add their member", async () => {
    const { token, orgId } = await scimOrg();
    const people = await Promise.all(Array.from({ length: PEOPLE }, () => provision(token)));
    const ids = people.map((p) => p.id);
    const created = await scim("POST", "/Groups", token, { schemas: [GROUP_SCHEMA], displayName: "admin" });
    const { id: groupId } = (await created.json()) as { id: string };

    const answers = await Promise.all(
      ids.map((id) =>
        scim("PATCH", `/Groups/${groupId}`, token, patch({ op: "add", path: "members", value: [{ value: id }] })),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(ids.map(() => 200));
    expect(await memberIds(token, groupId)).toEqual([...ids].sort());
    expect(await roles(orgId, ids)).toEqual(ids.map(() => "admin"));
  });
});
