// A person the org's directory provisioned (SCIM) signs in through the org's
// own SSO provider for that verified domain and lands in the provisioned
// account, with its membership: the SSO identity is linked to it
// (workers/authn/src/scim/user-store.ts stores the address verified;
// workers/authn/src/sso/directory-accounts.ts refuses every other link).
// Before, the callback refused with `error=account not linked` and the
// provisioned person could never sign in. Driven through @better-auth/sso's
// real callback with a scripted upstream IdP (sso-idp.ts).
import { runWithEndpointContext } from "@better-auth/core/context";
import { env } from "cloudflare:workers";
import { APIError } from "better-auth/api";
import { describe, expect, it } from "vitest";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import { DIRECTORY_ACCOUNT_LINK_REFUSED } from "../../workers/authn/src/sso/directory-accounts.ts";
import { signUp } from "./helpers.ts";
import { provision, scimOrg } from "./scim-helpers.ts";
import { landing, registerIdp, signInThroughIdp } from "./sso-idp.ts";

/** An org with a SCIM token and an SSO provider for its own verified domain; Alice provisioned in it. */
async function provisionedAlice() {
  const org = await scimOrg();
  const domain = `acme-${crypto.randomUUID().slice(0, 8)}.example`;
  const providerId = await registerIdp(org.orgId, org.owner.cookie, domain);
  const email = `alice@${domain}`;
  const alice = await provision(org.token, email);
  return { ...org, domain, providerId, email, userId: alice.id };
}

async function linkedProviders(userId: string) {
  const rows = await env.DB.prepare("SELECT provider_id AS p FROM account WHERE user_id = ?").bind(userId).all<{
    p: string;
  }>();
  return rows.results.map((row) => row.p);
}

async function count(sql: string, value: string) {
  return (await env.DB.prepare(sql).bind(value).first<{ n: number }>())?.n;
}

describe("SCIM-provisioned people sign in through their org's SSO", { timeout: 60_000 }, () => {
  it("the org's provider for the verified domain lands in the provisioned account, linked and verified", async () => {
    const alice = await provisionedAlice();
    const response = await signInThroughIdp(alice.providerId, { sub: "alice-at-idp", email: alice.email });
    expect(response.status).toBe(302);
    expect(landing(response)).toEqual({ path: "/app", error: null });

    expect(await count("SELECT count(*) AS n FROM user WHERE email = ?", alice.email)).toBe(1);
    expect(await linkedProviders(alice.userId)).toEqual([alice.providerId]);
    const person = await env.DB.prepare("SELECT email_verified AS verified FROM user WHERE id = ?")
      .bind(alice.userId)
      .first();
    expect(person).toEqual({ verified: 1 });
    // The session is the provisioned account's, and its membership is the directory's, unchanged.
    expect(await count("SELECT count(*) AS n FROM session WHERE user_id = ?", alice.userId)).toBe(1);
    const memberships = await env.DB.prepare("SELECT organization_id AS org, role FROM member WHERE user_id = ?")
      .bind(alice.userId)
      .all();
    expect(memberships.results).toEqual([{ org: alice.orgId, role: "member" }]);

    // The next sign-in finds the same account by the IdP's subject.
    const again = await signInThroughIdp(alice.providerId, { sub: "alice-at-idp", email: alice.email });
    expect(landing(again)).toEqual({ path: "/app", error: null });
    expect(await count("SELECT count(*) AS n FROM session WHERE user_id = ?", alice.userId)).toBe(2);
  });

  it("another org's provider, though its domain is verified too, is refused: DIRECTORY_ACCOUNT_LINK_REFUSED", async () => {
    const alice = await provisionedAlice();
    const stranger = await signUp("Other org owner");
    // Registering a domain another org verified is refused (409 SSO_DOMAIN_CLAIMED,
    // sso-upstream-binding.test.ts); a row from before that check is written as it was.
    const theirs = await registerIdp(
      stranger.orgId,
      stranger.cookie,
      `theirs-${crypto.randomUUID().slice(0, 8)}.example`,
    );
    await env.DB.prepare("UPDATE sso_provider SET domain = ? WHERE provider_id = ?").bind(alice.domain, theirs).run();
    const response = await signInThroughIdp(theirs, { sub: "mallory-at-their-idp", email: alice.email });
    expect(response.status).toBe(302);
    expect(landing(response)).toEqual({ path: "/api/auth/error", error: DIRECTORY_ACCOUNT_LINK_REFUSED });
    expect(await linkedProviders(alice.userId)).toEqual([]);
    expect(await count("SELECT count(*) AS n FROM session WHERE user_id = ?", alice.userId)).toBe(0);
  });

  it("a provider of the org whose domain is not verified signs nobody in: 401", async () => {
    const alice = await provisionedAlice();
    const pending = await registerIdp(alice.orgId, alice.owner.cookie, alice.domain, false);
    const response = await signInThroughIdp(pending, { sub: "alice-at-pending", email: alice.email });
    expect(response.status).toBe(401);
    expect(await linkedProviders(alice.userId)).toEqual([]);
  });

  it("the org's provider for another domain, asserting Alice's address, is not linked: account not linked", async () => {
    const alice = await provisionedAlice();
    const elsewhere = await registerIdp(
      alice.orgId,
      alice.owner.cookie,
      `other-${crypto.randomUUID().slice(0, 8)}.example`,
    );
    const response = await signInThroughIdp(elsewhere, { sub: "someone-at-other", email: alice.email });
    expect(response.status).toBe(302);
    expect(landing(response).error).toBe("account not linked");
    expect(await linkedProviders(alice.userId)).toEqual([]);
    expect(await count("SELECT count(*) AS n FROM session WHERE user_id = ?", alice.userId)).toBe(0);
  });

  it("a social identity whose provider verified the address is refused: 403 DIRECTORY_ACCOUNT_LINK_REFUSED", async () => {
    const alice = await provisionedAlice();
    // The social callback as Better Auth runs it (the providers cannot be
    // reached from a test): its link, through the running Worker's hooks.
    const context = await getAuth(env).$context;
    const endpoint = { path: "/callback/:id", params: { id: "google" }, context } as unknown as Parameters<
      typeof runWithEndpointContext
    >[0];
    const error = await runWithEndpointContext(endpoint, () =>
      context.internalAdapter.linkAccount({ providerId: "google", accountId: "g-123", userId: alice.userId }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).statusCode).toBe(403);
    expect((error as APIError).body?.code).toBe(DIRECTORY_ACCOUNT_LINK_REFUSED);
    expect(await linkedProviders(alice.userId)).toEqual([]);
  });
});
