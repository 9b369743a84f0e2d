// A leave Better Auth refuses changes nothing. Our before hook on
// /organization/leave cuts the person's tokens off, steps a leaving owner
// down (auth/last-owner.ts) and writes the cut-off the leave owes, all
// before Better Auth's own session check; so it must accept only the
// session Better Auth will: an expired one is refused there (401), and had
// taken an owner's role off already.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import { api, owedCutoffs, revocations, signUp } from "./helpers.ts";

async function roleOf(orgId: string, userId: string): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT role FROM member WHERE organization_id = ? AND user_id = ?")
    .bind(orgId, userId)
    .first<{ role: string }>();
  return row?.role;
}

describe("a leave refused for its session", { timeout: 60_000 }, () => {
  it("an expired session's leave is 401 and the owner stays the owner, nothing cut off or owed", async () => {
    const first = await signUp("First Owner");
    const second = await signUp("Second Owner");
    await getAuth(env).api.addMember({
      body: { userId: second.userId, organizationId: first.orgId, role: "owner" },
    });
    const before = (await revocations(first.orgId)).length;
    await env.DB.prepare("UPDATE session SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 60_000, second.sessionId)
      .run();

    const answer = await api("/organization/leave", { organizationId: first.orgId }, { Cookie: second.cookie });

    expect(answer.status).toBe(401);
    expect(((await answer.json()) as { code: string }).code).toBe("UNAUTHORIZED");
    expect(await roleOf(first.orgId, second.userId)).toBe("owner");
    expect(await owedCutoffs(first.orgId)).toBe(0);
    expect((await revocations(first.orgId)).length).toBe(before);
  });
});
