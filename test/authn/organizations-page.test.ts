// The account page's org switcher and members list: a person switches only
// to an organization they belong to; owners and admins change roles and
// remove members, members do not (Better Auth decides, the page says so).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, cookiesFrom, form, get, ORIGIN, signUp } from "./helpers.ts";

type Person = Awaited<ReturnType<typeof signUp>>;

function post(path: string, fields: Record<string, string>, person: Person) {
  return form(path, fields, { Origin: ORIGIN, Cookie: person.cookie });
}

async function activeOrg(sessionId: string): Promise<string | null | undefined> {
  return (
    await env.DB.prepare("SELECT active_organization_id AS org FROM session WHERE id = ?")
      .bind(sessionId)
      .first<{ org: string | null }>()
  )?.org;
}

/** Makes `person` a member of `owner`'s organization (with that org active for them); their member id. */
async function join(person: Person, owner: Person, role: "admin" | "member") {
  const memberId = crypto.randomUUID();
  await env.DB.prepare("INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, ?, ?)")
    .bind(memberId, owner.orgId, person.userId, role, Date.now())
    .run();
  const switched = await api("/organization/set-active", { organizationId: owner.orgId }, { Cookie: person.cookie });
  expect(switched.status).toBe(200);
  const cookie = cookiesFrom(switched);
  return { memberId, person: cookie ? { ...person, cookie: `${person.cookie}; ${cookie}` } : person };
}

describe("organizations on the account page", () => {
  it("lists the person's organizations and switches the active one", async () => {
    const person = await signUp();
    const created = await api(
      "/organization/create",
      { name: "Second org", slug: `second-${crypto.randomUUID().slice(0, 8)}`, keepCurrentActiveOrganization: true },
      { Cookie: person.cookie },
    );
    expect(created.status).toBe(200);
    const second = ((await created.json()) as { id: string }).id;
    const page = await (await get("/account", { Cookie: person.cookie })).text();
    expect(page.match(/data-testid="org-row"/g)).toHaveLength(2);

    const switched = await post("/account/organizations/switch", { organizationId: second }, person);
    expect(switched.status).toBe(303);
    expect(switched.headers.get("Location")).toBe("/account?done=org-switched");
    expect(await activeOrg(person.sessionId)).toBe(second);
  });

  it("refuses a switch to an organization the person is not in: 403", async () => {
    const person = await signUp();
    const stranger = await signUp();
    const refused = await post("/account/organizations/switch", { organizationId: stranger.orgId }, person);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("You are not a member of that organization.");
    expect(await activeOrg(person.sessionId)).toBe(person.orgId);
  });

  it("lets an owner change a member's role and remove them, and a member neither", async () => {
    const owner = await signUp("Owner");
    const joined = await join(await signUp("Member"), owner, "member");
    const page = await (await get("/account", { Cookie: owner.cookie })).text();
    expect(page.match(/data-testid="member-row"/g)).toHaveLength(2);
    expect(page).toContain('aria-label="Role of ');

    const ownerMember = await env.DB.prepare("SELECT id FROM member WHERE user_id = ? AND organization_id = ?")
      .bind(owner.userId, owner.orgId)
      .first<{ id: string }>();
    const refused = await post(
      "/account/members/role",
      { memberId: ownerMember?.id ?? "", role: "member" },
      joined.person,
    );
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("You may not change that member&#39;s role.");
    const other = await join(await signUp("Other member"), owner, "member");
    const notRemoved = await post("/account/members/remove", { memberId: other.memberId }, joined.person);
    expect(notRemoved.status).toBe(403);
    expect(await notRemoved.text()).toContain("You may not remove that member.");

    const promoted = await post("/account/members/role", { memberId: joined.memberId, role: "admin" }, owner);
    expect(promoted.status).toBe(200);
    expect(await promoted.text()).toContain("Role changed.");
    const role = await env.DB.prepare("SELECT role FROM member WHERE id = ?")
      .bind(joined.memberId)
      .first<{ role: string }>();
    expect(role?.role).toBe("admin");

    const removed = await post("/account/members/remove", { memberId: joined.memberId }, owner);
    expect(removed.status).toBe(200);
    expect(await removed.text()).toContain("Member removed.");
    const gone = await env.DB.prepare("SELECT COUNT(*) AS n FROM member WHERE id = ?")
      .bind(joined.memberId)
      .first<{ n: number }>();
    expect(gone?.n).toBe(0);
  });

  it("refuses a role the organization does not have: 400", async () => {
    const owner = await signUp();
    const joined = await join(await signUp(), owner, "member");
    const refused = await post("/account/members/role", { memberId: joined.memberId, role: "superuser" }, owner);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("Choose member, admin or owner.");
  });
});
