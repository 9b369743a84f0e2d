// The org's delete is made in Better Auth's beforeDeleteOrganization
// hook. Only someone Better Auth allows to delete the org may get there: an
// admin or plain member of the org, or a non-member, is refused with nothing
// deleted, nothing revoked and nothing owed.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, revocations, signUp } from "./helpers.ts";

async function orgExists(orgId: string): Promise<boolean> {
  return (await env.DB.prepare("SELECT 1 FROM organization WHERE id = ?").bind(orgId).first()) !== null;
}
async function members(orgId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM member WHERE organization_id = ?")
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}
async function owed(orgId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM owed_org_cutoff WHERE org_id = ?")
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

describe("who may delete an org", () => {
  for (const role of ["admin", "member", null] as const) {
    it(`${role === "admin" ? "an admin" : role === "member" ? "a member" : "a non-member"} is refused and nothing is deleted, revoked or owed`, async () => {
      const owner = await signUp("Owner");
      const other = await signUp("Other");
      if (role !== null) {
        await env.DB.prepare(
          "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, ?, ?)",
        )
          .bind(crypto.randomUUID(), owner.orgId, other.userId, role, Date.now())
          .run();
      }
      const before = await members(owner.orgId);
      const response = await api("/organization/delete", { organizationId: owner.orgId }, { Cookie: other.cookie });
      expect([response.status, ((await response.json()) as { code?: string }).code]).toEqual([
        role === null ? 400 : 403,
        role === null ? "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION" : "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION",
      ]);
      expect(await orgExists(owner.orgId)).toBe(true);
      expect(await members(owner.orgId)).toBe(before);
      expect(await owed(owner.orgId)).toBe(0);
      expect((await revocations(owner.orgId)).filter((e) => e.kind === "org")).toEqual([]);
    });
  }
});
