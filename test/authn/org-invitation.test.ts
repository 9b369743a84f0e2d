import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { formTo, tokenFromMail } from "./email-helpers.ts";
import { api, cookiesFrom, form, PASSWORD, signUp, uniqueEmail } from "./helpers.ts";

/** A person signed up with a chosen address (not yet verified: local runs sign in at once). */
async function signUpAs(email: string) {
  const response = await form("/sign-up", { name: "Invitee", email, password: PASSWORD });
  expect(response.status).toBe(303);
  return cookiesFrom(response);
}

async function invite(ownerCookie: string, orgId: string, email: string): Promise<string> {
  const response = await api(
    "/organization/invite-member",
    { email, role: "member", organizationId: orgId },
    {
      Cookie: ownerCookie,
    },
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

async function accept(cookie: string, invitationId: string) {
  const response = await api("/organization/accept-invitation", { invitationId }, { Cookie: cookie });
  return { status: response.status, ...((await response.json()) as { code?: string }) };
}

async function isMember(email: string, orgId: string): Promise<boolean> {
  const row = await env.DB.prepare(
    "SELECT 1 AS yes FROM member m JOIN user u ON u.id = m.user_id WHERE u.email = ? AND m.organization_id = ?",
  )
    .bind(email, orgId)
    .first<{ yes: number }>();
  return row !== null;
}

describe("GHSA-fmh4-wcc4-5jm3: an invitation is accepted only with proof of the invited address", () => {
  it("refuses another account, then the invited address until it is verified, then accepts", async () => {
    const owner = await signUp("Owner");
    const invited = uniqueEmail();
    const invitationId = await invite(owner.cookie, owner.orgId, invited);

    // Someone else, signed in, holding the invitation id.
    const stranger = await signUpAs(uniqueEmail());
    expect(await accept(stranger, invitationId)).toMatchObject({
      status: 403,
      code: "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION",
    });

    // An account created with the invited address, which nobody has proven to own.
    const claimant = await signUpAs(invited);
    expect(await accept(claimant, invitationId)).toMatchObject({
      status: 403,
      code: "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION",
    });
    expect(await isMember(invited, owner.orgId)).toBe(false);

    // The mailbox's owner, who signed up in this browser, confirms the address
    // through the link mailed at sign-up (from elsewhere the page asks for the
    // password: sign-up-binding.test.ts).
    const token = await tokenFromMail(invited, "verify-email");
    const confirmed = await formTo(env as unknown as AuthnEnv, "/verify-email", { token }, { Cookie: claimant });
    expect(confirmed.status).toBe(200);
    const accepted = await accept(claimant, invitationId);
    expect(accepted.status).toBe(200);
    expect(await isMember(invited, owner.orgId)).toBe(true);
  });
});
