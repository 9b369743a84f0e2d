// Per-organization OIDC SSO (@better-auth/sso, workers/authn/src/auth/plugins/sso.ts):
// who may register a provider, which endpoints it may name, and that it signs
// nobody in before its domain is verified. The sign-in through a real
// upstream IdP is test/e2e/sso-oidc.test.ts.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import { emailInProviderDomain } from "../../workers/authn/src/sso/provider-domain.ts";
import { api, signUp } from "./helpers.ts";

const IDP = "https://idp.example.com";

/** A registration body as an org admin would send it; endpoints given, so nothing is fetched. */
function provider(organizationId: string | undefined, overrides: Record<string, unknown> = {}) {
  const providerId = `idp-${crypto.randomUUID().slice(0, 8)}`;
  return {
    providerId,
    issuer: IDP,
    domain: `${providerId}.example.com`,
    ...(organizationId === undefined ? {} : { organizationId }),
    oidcConfig: {
      clientId: "mono-auth",
      clientSecret: "upstream-secret",
      skipDiscovery: true,
      pkce: true,
      authorizationEndpoint: `${IDP}/authorize`,
      tokenEndpoint: `${IDP}/token`,
      jwksEndpoint: `${IDP}/jwks`,
      ...overrides,
    },
  };
}

async function providerRow(providerId: string) {
  return env.DB.prepare("SELECT organization_id, domain_verified FROM sso_provider WHERE provider_id = ?")
    .bind(providerId)
    .first<{ organization_id: string | null; domain_verified: number | null }>();
}

/** An owner's org with a second person in it as a plain member. */
async function orgWithMember() {
  const owner = await signUp("Owner");
  const member = await signUp("Member");
  await getAuth(env).api.addMember({ body: { userId: member.userId, organizationId: owner.orgId, role: "member" } });
  return { owner, member };
}

async function error(response: Response) {
  return (await response.json()) as { code?: string; message?: string };
}

describe("SSO provider registration", () => {
  it("an owner registers a provider for their organization, unverified", async () => {
    const owner = await signUp("Owner");
    const body = provider(owner.orgId);
    const response = await api("/sso/register", body, { Cookie: owner.cookie });
    expect(response.status).toBe(200);
    const registered = (await response.json()) as { domainVerified: boolean; redirectURI: string };
    expect(registered.domainVerified).toBe(false);
    expect(registered.redirectURI).toBe(`${env.ISSUER}/api/auth/sso/callback/${body.providerId}`);
    expect(await providerRow(body.providerId)).toEqual({ organization_id: owner.orgId, domain_verified: 0 });
  });

  it("GHSA-gv74-j8m3-fg5f: a plain member of the organization is refused 403", async () => {
    const { owner, member } = await orgWithMember();
    const body = provider(owner.orgId);
    const response = await api("/sso/register", body, { Cookie: member.cookie });
    expect(response.status).toBe(403);
    expect(await error(response)).toMatchObject({
      message: "You must be an organization owner or admin to register SSO providers",
    });
    expect(await providerRow(body.providerId)).toBeNull();
  });

  it("an owner of another organization is refused for this one", async () => {
    const owner = await signUp("Owner");
    const stranger = await signUp("Stranger");
    const body = provider(owner.orgId);
    const response = await api("/sso/register", body, { Cookie: stranger.cookie });
    expect(response.status).toBe(400);
    expect(await error(response)).toMatchObject({ message: "You are not a member of the organization" });
    expect(await providerRow(body.providerId)).toBeNull();
  });

  it("a provider that names no organization is refused SSO_PROVIDER_ORGANIZATION_REQUIRED", async () => {
    const person = await signUp("Person");
    const body = provider(undefined);
    const response = await api("/sso/register", body, { Cookie: person.cookie });
    expect(response.status).toBe(400);
    expect((await error(response)).code).toBe("SSO_PROVIDER_ORGANIZATION_REQUIRED");
    expect(await providerRow(body.providerId)).toBeNull();
  });

  it("signed out, registration is refused 401", async () => {
    const owner = await signUp("Owner");
    const response = await api("/sso/register", provider(owner.orgId));
    expect(response.status).toBe(401);
  });

  // The project's outbound guard (ERR_OUTBOUND_URL_FORBIDDEN) runs first; a
  // loopback address, which it allows a local deployment, is the plugin's own
  // guard's to refuse (discovery_private_host).
  it.each([
    ["tokenEndpoint", "http://169.254.169.254/latest/meta-data/", "ERR_OUTBOUND_URL_FORBIDDEN"],
    ["jwksEndpoint", "http://127.0.0.1:6379/", "discovery_private_host"],
    ["userInfoEndpoint", "http://10.0.0.7/userinfo", "ERR_OUTBOUND_URL_FORBIDDEN"],
  ])("GHSA-5rr4-8452-hf4v: an internal %s (%s) is refused %s", async (field, url, code) => {
    const owner = await signUp("Owner");
    const body = provider(owner.orgId, { [field]: url });
    const response = await api("/sso/register", body, { Cookie: owner.cookie });
    expect(response.status).toBe(400);
    expect((await error(response)).code).toBe(code);
    expect(await providerRow(body.providerId)).toBeNull();
  });
});

describe("SSO domain verification", () => {
  it("an unverified provider signs nobody in; verified, it starts the authorization code flow with PKCE", async () => {
    const owner = await signUp("Owner");
    const body = provider(owner.orgId);
    expect((await api("/sso/register", body, { Cookie: owner.cookie })).status).toBe(200);

    const start = { providerId: body.providerId, callbackURL: "/app" };
    const refused = await api("/sign-in/sso", start);
    expect(refused.status).toBe(401);
    expect(await error(refused)).toMatchObject({ message: "Provider domain has not been verified" });

    // The plugin's flow: an admin asks for the TXT record's value...
    const requested = await api(
      "/sso/request-domain-verification",
      { providerId: body.providerId },
      { Cookie: owner.cookie },
    );
    expect(requested.status).toBe(201);
    const { domainVerificationToken } = (await requested.json()) as { domainVerificationToken: string };
    expect(domainVerificationToken).toMatch(/^[A-Za-z0-9_-]{24}$/);
    // ...publishes `_better-auth-token-<providerId>.<domain> TXT <value>` and calls
    // /sso/verify-domain, which resolves it. No DNS zone can be published from a
    // test, so the row is marked verified the way verify-domain's success does.
    await env.DB.prepare("UPDATE sso_provider SET domain_verified = 1 WHERE provider_id = ?")
      .bind(body.providerId)
      .run();

    const started = await api("/sign-in/sso", start);
    expect(started.status).toBe(200);
    const { url } = (await started.json()) as { url: string };
    const authorize = new URL(url);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${IDP}/authorize`);
    expect(authorize.searchParams.get("redirect_uri")).toBe(`${env.ISSUER}/api/auth/sso/callback/${body.providerId}`);
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("state")).toBeTruthy();
  });

  it("a plain member cannot ask for the organization's domain verification", async () => {
    const { owner, member } = await orgWithMember();
    const body = provider(owner.orgId);
    expect((await api("/sso/register", body, { Cookie: owner.cookie })).status).toBe(200);
    const response = await api(
      "/sso/request-domain-verification",
      { providerId: body.providerId },
      { Cookie: member.cookie },
    );
    expect(response.status).toBe(403);
  });
});

describe("which addresses a provider may create accounts for", () => {
  it.each([
    ["jane@acme.test", "acme.test", true],
    ["jane@EU.Acme.test", "acme.test", true],
    ["jane@acme.test", "other.test, acme.test", true],
    ["jane@notacme.test", "acme.test", false],
    ["jane@acme.test.evil", "acme.test", false],
    ["jane@other.test", "acme.test", false],
    ["not-an-address", "acme.test", false],
  ])("%s in %s: %s", (email, domains, inside) => {
    expect(emailInProviderDomain(email, domains)).toBe(inside);
  });
});

describe("SSO provider management", () => {
  // Another org's domain, this test's own: the authn project's files share one runtime (vitest.config.ts), and a
  // provider left on a fixed domain would be found by another file's sign-in at an address there.
  const victimDomain = () => `victim-${crypto.randomUUID().slice(0, 8)}.test`;

  async function verifiedProvider() {
    const { owner, member } = await orgWithMember();
    const body = provider(owner.orgId);
    expect((await api("/sso/register", body, { Cookie: owner.cookie })).status).toBe(200);
    // Marked verified as /sso/verify-domain's success does (no DNS zone can be published from a test).
    await env.DB.prepare("UPDATE sso_provider SET domain_verified = 1 WHERE provider_id = ?")
      .bind(body.providerId)
      .run();
    return { owner, member, providerId: body.providerId };
  }

  it("a plain member can neither change nor delete the organization's provider", async () => {
    const { member, providerId } = await verifiedProvider();
    const update = await api("/sso/update-provider", { providerId, domain: victimDomain() }, { Cookie: member.cookie });
    expect(update.status).toBe(403);
    const remove = await api("/sso/delete-provider", { providerId }, { Cookie: member.cookie });
    expect(remove.status).toBe(403);
    expect(await providerRow(providerId)).toMatchObject({ domain_verified: 1 });
  });

  it("moving a verified provider to another domain makes it unverified again: it signs nobody in", async () => {
    const { owner, providerId } = await verifiedProvider();
    const update = await api("/sso/update-provider", { providerId, domain: victimDomain() }, { Cookie: owner.cookie });
    expect(update.status).toBe(200);
    expect(await providerRow(providerId)).toMatchObject({ domain_verified: 0 });
    const refused = await api("/sign-in/sso", { providerId, callbackURL: "/app" });
    expect(refused.status).toBe(401);
    expect(await error(refused)).toMatchObject({ message: "Provider domain has not been verified" });
  });

  it("the owner deletes the provider; it signs nobody in", async () => {
    const { owner, providerId } = await verifiedProvider();
    const remove = await api("/sso/delete-provider", { providerId }, { Cookie: owner.cookie });
    expect(remove.status).toBe(200);
    expect(await providerRow(providerId)).toBeNull();
    const refused = await api("/sign-in/sso", { providerId, callbackURL: "/app" });
    expect(refused.status).toBe(404);
  });
});
