// Deprovisioning (`active: false`) ends the person's OAuth tokens at our
// OpenID Provider too (workers/authn/src/scim/deprovision.ts): the `subject`
// entry cuts off only tokens issued up to it, and the provider's refresh
// grant asks no session and no ban, so a deactivated person's app kept
// refreshing into new access tokens.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { liveRefreshTokens, oidc, refreshGrant, refuseOAuthTokenRevocation } from "./oidc-helpers.ts";
import { expectUnavailable, NOT_RECORDED, PATCH_SCHEMA, scim, scimOrg } from "./scim-helpers.ts";

const DEACTIVATE = { schemas: [PATCH_SCHEMA], Operations: [{ op: "replace", path: "active", value: false }] };

/**
 * A person with a live OAuth grant (signed in through the page, a client
 * consented) who is also one the org's directory manages: their membership
 * and SCIM row as scim/user-store.ts insertUser writes them. Provisioned
 * people sign in through the org's SSO, which a test cannot drive to the
 * consent page; the account's origin does not matter to deprovisioning.
 */
async function managedPersonWithGrant() {
  const { orgId, token } = await scimOrg();
  const { person, client, tokens } = await oidc.issuedTokens();
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
    ).bind(crypto.randomUUID(), orgId, person.userId, now),
    env.DB.prepare(
      `INSERT INTO scim_user (user_id, org_id, user_name, user_name_key, active, created_at, updated_at)
       VALUES (?, ?, ?, ?, 1, ?, ?)`,
    ).bind(person.userId, orgId, person.email, person.email.toLowerCase(), now, now),
  ]);
  expect(await liveRefreshTokens(person.userId)).toBe(1);
  return { token, person, client, refreshToken: tokens.refresh_token ?? "" };
}

describe("SCIM deprovisioning ends OAuth grants", { timeout: 60_000 }, () => {
  it("active=false revokes the person's refresh tokens: a refresh afterwards is 400 invalid_grant", async () => {
    const { token, person, client, refreshToken } = await managedPersonWithGrant();

    const off = await scim("PATCH", `/Users/${person.userId}`, token, DEACTIVATE);
    expect(off.status).toBe(200);
    expect(await liveRefreshTokens(person.userId)).toBe(0);
    const refresh = await refreshGrant(refreshToken, client);
    expect(refresh.status).toBe(400);
    expect(((await refresh.json()) as { error: string }).error).toBe("invalid_grant");
  });

  it("a revocation the database refuses is 503 with the person still deactivated; the retry converges", async () => {
    const { token, person, client, refreshToken } = await managedPersonWithGrant();
    const lift = await refuseOAuthTokenRevocation(person.userId);

    const refused = await scim("PATCH", `/Users/${person.userId}`, token, DEACTIVATE);
    await expectUnavailable(refused, NOT_RECORDED);
    const user = await scim("GET", `/Users/${person.userId}`, token);
    expect(((await user.json()) as { active: boolean }).active).toBe(false);

    await lift();
    const retried = await scim("PATCH", `/Users/${person.userId}`, token, DEACTIVATE);
    expect(retried.status).toBe(200);
    expect(await liveRefreshTokens(person.userId)).toBe(0);
    expect((await refreshGrant(refreshToken, client)).status).toBe(400);
  });
});
