// Membership changes cut off the tokens they invalidate: a `subject`
// revocation for the person in that org, an `org` revocation for a deleted org.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import { api, owedCutoffs, revocations, signUp } from "./helpers.ts";

/** An owner's org with a second person in it as a member; the member's id in it. */
async function orgWithMember() {
  const owner = await signUp("Owner");
  const person = await signUp("Member");
  const added = (await getAuth(env).api.addMember({
    body: { userId: person.userId, organizationId: owner.orgId, role: "member" },
  })) as { id: string };
  return { owner, person, memberId: added.id };
}

function subjectRevoked(userId: string) {
  return expect.objectContaining({ kind: "subject", value: userId });
}

async function isMember(orgId: string, userId: string) {
  const row = await env.DB.prepare("SELECT 1 FROM member WHERE organization_id = ? AND user_id = ?")
    .bind(orgId, userId)
    .first();
  return row !== null;
}

describe("membership changes revoke", () => {
  it("removing a member revokes their tokens in that org", async () => {
    const { owner, person } = await orgWithMember();
    expect(await revocations(owner.orgId)).not.toContainEqual(subjectRevoked(person.userId));
    const response = await api(
      "/organization/remove-member",
      { memberIdOrEmail: person.email, organizationId: owner.orgId },
      { Cookie: owner.cookie },
    );
    expect(response.status).toBe(200);
    expect(await isMember(owner.orgId, person.userId)).toBe(false);
    expect(await revocations(owner.orgId)).toContainEqual(subjectRevoked(person.userId));
    expect(await owedCutoffs(owner.orgId)).toBe(0);
    // Only that org: the person's own org keeps its tokens.
    expect(await revocations(person.orgId)).not.toContainEqual(subjectRevoked(person.userId));
  });

  it("leaving an org revokes one's tokens in it", async () => {
    const { owner, person } = await orgWithMember();
    const response = await api("/organization/leave", { organizationId: owner.orgId }, { Cookie: person.cookie });
    expect(response.status).toBe(200);
    expect(await isMember(owner.orgId, person.userId)).toBe(false);
    expect(await revocations(owner.orgId)).toContainEqual(subjectRevoked(person.userId));
    expect(await owedCutoffs(owner.orgId)).toBe(0);
  });

  it("a refused leave of an org one is not in writes nothing to that org", async () => {
    const person = await signUp("Outsider");
    const stranger = await signUp("Stranger");
    const response = await api("/organization/leave", { organizationId: stranger.orgId }, { Cookie: person.cookie });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("MEMBER_NOT_FOUND");
    expect(await revocations(stranger.orgId)).not.toContainEqual(subjectRevoked(person.userId));
  });

  it("changing a member's role revokes their tokens in that org", async () => {
    const { owner, person, memberId } = await orgWithMember();
    const response = await api(
      "/organization/update-member-role",
      { memberId, role: "admin", organizationId: owner.orgId },
      { Cookie: owner.cookie },
    );
    expect(response.status).toBe(200);
    expect(await revocations(owner.orgId)).toContainEqual(subjectRevoked(person.userId));
    expect(await owedCutoffs(owner.orgId)).toBe(0);
  });

  it("deleting an org revokes every token of it", async () => {
    const owner = await signUp("Closing");
    const response = await api("/organization/delete", { organizationId: owner.orgId }, { Cookie: owner.cookie });
    expect(response.status).toBe(200);
    expect(await revocations(owner.orgId)).toContainEqual(expect.objectContaining({ kind: "org", value: owner.orgId }));
  });
});

describe("organizations per person are capped", () => {
  it("refuses the organization past MAX_ORGANIZATIONS_PER_USER with 403", async () => {
    const person = await signUp("Founder");
    const max = Number(env.MAX_ORGANIZATIONS_PER_USER);
    // The sign-up made the first one.
    for (let i = 1; i < max; i++) {
      const created = await api(
        "/organization/create",
        { name: `Org ${i}`, slug: `cap-${i}-${crypto.randomUUID().slice(0, 8)}` },
        { Cookie: person.cookie },
      );
      expect(created.status).toBe(200);
    }
    const refused = await api(
      "/organization/create",
      { name: "One too many", slug: `cap-over-${crypto.randomUUID().slice(0, 8)}` },
      { Cookie: person.cookie },
    );
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe(
      "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS",
    );
  });
});
