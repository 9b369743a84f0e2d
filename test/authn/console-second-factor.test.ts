// A console session of a person with 2FA on that has not passed it (a social
// or SSO sign-in: Better Auth's 2FA hook does not check those) is refused by
// the admin API 403 forbidden SECOND_FACTOR_REQUIRED (7f749a4); the console
// answers that 403 with a notice linking to /two-factor, not the page for
// people who administer nothing.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { form, get, ORIGIN, signUp } from "./helpers.ts";

async function withTwoFactorOn(userId: string) {
  // As a social or SSO sign-in leaves it: 2FA on, and this session never stepped up (no mark).
  await env.DB.prepare("UPDATE user SET two_factor_enabled = 1 WHERE id = ?").bind(userId).run();
}

describe("the console for a session short of its second factor", () => {
  it("answers 403 with a notice that links to /two-factor, on a page and on a form", async () => {
    const owner = await signUp("Stepped Down");
    await withTwoFactorOn(owner.userId);

    for (const response of [
      await get(ENDPOINT.console, { Cookie: owner.cookie }),
      await get(`${ENDPOINT.console}/orgs/${owner.orgId}`, { Cookie: owner.cookie }),
      await form(
        `${ENDPOINT.console}/orgs/${owner.orgId}/clients`,
        { name: "x", type: "agent", scopes: "documents:read" },
        { Cookie: owner.cookie, Origin: ORIGIN },
      ),
    ]) {
      expect(response.status).toBe(403);
      const page = await response.text();
      expect(page).toContain('data-testid="console-second-factor"');
      expect(page).toMatch(new RegExp(`<a href="${ENDPOINT.twoFactor}">`));
      expect(page).not.toContain('data-testid="console-refused"');
    }
  });

  it("still shows a plain member the page for people who administer nothing, 403, without the link", async () => {
    // signUp makes the person the owner of their first org; made a plain member there, they administer nothing.
    const member = await signUp("Plain Member");
    await env.DB.prepare("UPDATE member SET role = 'member' WHERE user_id = ?").bind(member.userId).run();
    const response = await get(ENDPOINT.console, { Cookie: member.cookie });
    expect(response.status).toBe(403);
    const page = await response.text();
    expect(page).toContain('data-testid="console-refused"');
    expect(page).not.toContain(`href="${ENDPOINT.twoFactor}"`);
  });
});
