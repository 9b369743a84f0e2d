// SCIM 2.0 Groups (RFC 7644) and what they grant: a Group named after an
// org role the directory may grant (`admin`) sets its members' role; a SCIM
// token reaches nothing outside its org (GHSA-j8v8-g9cx-5qf4).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { owedCutoffs, revocations, signUp } from "./helpers.ts";
import {
  directoryPeople,
  GROUP_SCHEMA,
  PATCH_SCHEMA,
  provision,
  scim,
  scimError,
  scimOrg,
  ssoDomain,
  userBody,
} from "./scim-helpers.ts";

async function role(orgId: string, userId: string) {
  const row = await env.DB.prepare("SELECT role FROM member WHERE organization_id = ? AND user_id = ?")
    .bind(orgId, userId)
    .first<{ role: string }>();
  return row?.role;
}

function group(displayName: string, memberIds: string[] = []) {
  return { schemas: [GROUP_SCHEMA], displayName, members: memberIds.map((value) => ({ value })) };
}

function patch(...Operations: unknown[]) {
  return { schemas: [PATCH_SCHEMA], Operations };
}

// Each test makes a dozen or more requests, each a few D1 statements: slow on a loaded machine, not wrong.
describe("SCIM Groups", { timeout: 30_000 }, () => {
  it("a Group keeps its members; PATCH adds and removes them (filtered path); DELETE removes it", async () => {
    const { token } = await scimOrg();
    const [ada, bob] = [await provision(token), await provision(token)];
    const created = await scim("POST", "/Groups", token, group("Engineering", [ada.id]));
    expect(created.status).toBe(201);
    const engineering = (await created.json()) as { id: string; members: { value: string }[] };
    expect(engineering).toMatchObject({ schemas: [GROUP_SCHEMA], displayName: "Engineering" });
    expect(engineering.members.map((m) => m.value)).toEqual([ada.id]);

    const added = await scim(
      "PATCH",
      `/Groups/${engineering.id}`,
      token,
      patch({ op: "add", path: "members", value: [{ value: bob.id }] }),
    );
    expect(((await added.json()) as { members: unknown[] }).members).toHaveLength(2);
    const user = (await (await scim("GET", `/Users/${bob.id}`, token)).json()) as { groups: { value: string }[] };
    expect(user.groups.map((g) => g.value)).toEqual([engineering.id]);
    const removed = await scim(
      "PATCH",
      `/Groups/${engineering.id}`,
      token,
      patch({ op: "remove", path: `members[value eq "${ada.id}"]` }),
    );
    expect(((await removed.json()) as { members: { value: string }[] }).members.map((m) => m.value)).toEqual([bob.id]);

    const found = await scim("GET", `/Groups?filter=${encodeURIComponent('displayName eq "engineering"')}`, token);
    expect(((await found.json()) as { totalResults: number }).totalResults).toBe(1);
    const taken = await scim("POST", "/Groups", token, group("ENGINEERING"));
    expect(taken.status).toBe(409);
    expect(await taken.json()).toEqual(scimError(409, "uniqueness", "a Group with this displayName already exists"));

    expect((await scim("DELETE", `/Groups/${engineering.id}`, token)).status).toBe(204);
    expect((await scim("GET", `/Groups/${engineering.id}`, token)).status).toBe(404);
  });

  it("membership of the `admin` Group makes an org admin, leaving it a member, each change revoking their tokens", async () => {
    const { orgId, token } = await scimOrg();
    const person = await provision(token);
    const created = await scim("POST", "/Groups", token, group("Admin", [person.id]));
    const admins = (await created.json()) as { id: string };
    expect(await role(orgId, person.id)).toBe("admin");
    expect(await revocations(orgId)).toContainEqual(expect.objectContaining({ kind: "subject", value: person.id }));

    await scim("PATCH", `/Groups/${admins.id}`, token, patch({ op: "replace", path: "members", value: [] }));
    expect(await role(orgId, person.id)).toBe("member");
    // Each change's second cut-off was owed with its write and settled before its answer.
    expect(await owedCutoffs(orgId)).toBe(0);
  });

  it("a Group larger than one statement's parameters (D1: 100) is still one write, projection included", async () => {
    const { orgId, token } = await scimOrg();
    // 120 of the org's directory people, written directly (provisioning each over HTTP is tested above).
    const ids = await directoryPeople(orgId, 120);
    const created = await scim("POST", "/Groups", token, group("admin", ids));
    expect(created.status).toBe(201);
    expect(((await created.json()) as { members: unknown[] }).members).toHaveLength(120);
    const admins = await env.DB.prepare("SELECT count(*) AS n FROM member WHERE organization_id = ? AND role = 'admin'")
      .bind(orgId)
      .first<{ n: number }>();
    expect(admins?.n).toBe(120);
    expect(await owedCutoffs(orgId)).toBe(0);
  });

  it("GHSA-j8v8-g9cx-5qf4: a SCIM token reaches no other org's people, links no existing account and makes no owner", async () => {
    const a = await scimOrg();
    const b = await scimOrg();
    const theirs = await provision(b.token);

    // B's person, through A's token: no such User, whatever the verb.
    for (const [method, body] of [
      ["GET", undefined],
      ["PUT", userBody(theirs.userName)],
      ["PATCH", patch({ op: "replace", path: "active", value: false })],
      ["DELETE", undefined],
    ] as const) {
      const response = await scim(method, `/Users/${theirs.id}`, a.token, body);
      expect(response.status, method).toBe(404);
      expect(await response.json()).toEqual(scimError(404, undefined, "no such User"));
    }
    const listed = await scim(
      "GET",
      `/Users?filter=${encodeURIComponent(`userName eq "${theirs.userName}"`)}`,
      a.token,
    );
    expect(((await listed.json()) as { totalResults: number }).totalResults).toBe(0);
    // Nor into A's groups.
    const smuggled = await scim("POST", "/Groups", a.token, group("Admin", [theirs.id]));
    expect(smuggled.status).toBe(400);
    expect(await smuggled.json()).toEqual(
      scimError(400, "invalidValue", "every member must be a User of this organization's directory"),
    );
    expect(await role(b.orgId, theirs.id)).toBe("member");
    expect(await role(a.orgId, theirs.id)).toBeUndefined();

    // An existing account is never taken over by userName or email, even in
    // a domain A has verified (an address outside them is refused before:
    // scim-org-domains.test.ts). The domain is this test's own: a verified
    // example.com would cover every address the other files of this runtime
    // sign up with.
    const domain = `${crypto.randomUUID()}.example`;
    const existing = await signUp("Existing", `${crypto.randomUUID()}@${domain}`);
    await ssoDomain(a.orgId, a.owner.userId, domain);
    const takeover = await scim("POST", "/Users", a.token, userBody(existing.email));
    expect(takeover.status).toBe(409);
    expect(((await takeover.json()) as { scimType: string }).scimType).toBe("uniqueness");

    // A Group called "owner" is only a Group; a member's role is never raised past admin.
    const mine = await provision(a.token);
    expect((await scim("POST", "/Groups", a.token, group("owner", [mine.id]))).status).toBe(201);
    expect(await role(a.orgId, mine.id)).toBe("member");
    // The org's owner, whom SCIM did not create, is no SCIM User: not listed, not addressable.
    expect((await scim("GET", `/Users/${a.owner.userId}`, a.token)).status).toBe(404);
    const ownerInGroup = await scim("POST", "/Groups", a.token, group("Staff", [a.owner.userId]));
    expect(ownerInGroup.status).toBe(400);
    expect(await role(a.orgId, a.owner.userId)).toBe("owner");
    // A platform operator's account is no SCIM User either: never taken over, never addressed.
    const operator = await signUp("Operator", `${crypto.randomUUID()}@${domain}`);
    await env.DB.prepare("INSERT INTO platform_operator (user_id, email, created_at) VALUES (?, ?, ?)")
      .bind(operator.userId, operator.email, Date.now())
      .run();
    expect((await scim("POST", "/Users", a.token, userBody(operator.email))).status).toBe(409);
    const demote = patch({ op: "replace", path: "active", value: false });
    expect((await scim("PATCH", `/Users/${operator.userId}`, a.token, demote)).status).toBe(404);
    expect(
      await env.DB.prepare("SELECT 1 AS banned FROM user_ban WHERE user_id = ?").bind(operator.userId).first(),
    ).toBeNull();
  });

  it("discovery: ServiceProviderConfig, ResourceTypes and Schemas, to an authenticated directory", async () => {
    const { token } = await scimOrg();
    const config = (await (await scim("GET", "/ServiceProviderConfig", token)).json()) as Record<string, unknown>;
    expect(config).toMatchObject({
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 100 },
      authenticationSchemes: [expect.objectContaining({ type: "oauthbearertoken" })],
    });
    const types = (await (await scim("GET", "/ResourceTypes", token)).json()) as { Resources: { id: string }[] };
    expect(types.Resources.map((t) => t.id)).toEqual(["User", "Group"]);
    const schemas = (await (await scim("GET", "/Schemas", token)).json()) as {
      Resources: { id: string; attributes: { name: string }[] }[];
    };
    expect(schemas.Resources.map((s) => s.id)).toEqual(["urn:ietf:params:scim:schemas:core:2.0:User", GROUP_SCHEMA]);
    expect(schemas.Resources[0]?.attributes.map((a) => a.name)).toContain("userName");
    expect((await scim("GET", "/ServiceProviderConfig", undefined)).status).toBe(401);
  });
});
