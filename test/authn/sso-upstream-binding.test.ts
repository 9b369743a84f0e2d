// What binds an org's IdP's answer to the sign-in it belongs to and to the
// provider's verified domain (workers/authn/src/sso/provider-registration.ts,
// provider-domain.ts): PKCE cannot be turned off, and an address counts as
// in the domain only by its one "@". Driven through @better-auth/sso's real
// endpoints with a scripted upstream IdP (sso-idp.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OUTBOUND_URL_FORBIDDEN } from "../../shared/http/outbound-url.ts";
import { emailInProviderDomain } from "../../workers/authn/src/sso/provider-domain.ts";
import { SSO_DOMAIN_CLAIMED, SSO_PKCE_REQUIRED } from "../../workers/authn/src/sso/provider-registration.ts";
import { api, signUp } from "./helpers.ts";
import { IDP_ISSUER, landing, registerIdp, signInThroughIdp } from "./sso-idp.ts";

function registration(organizationId: string, pkce: unknown) {
  const providerId = `idp-${crypto.randomUUID().slice(0, 8)}`;
  return {
    providerId,
    issuer: IDP_ISSUER,
    domain: `${providerId}.example`,
    organizationId,
    oidcConfig: {
      clientId: "mono-auth",
      clientSecret: "upstream-secret",
      skipDiscovery: true,
      pkce,
      authorizationEndpoint: `${IDP_ISSUER}/authorize`,
      tokenEndpoint: `${IDP_ISSUER}/token`,
      jwksEndpoint: `${IDP_ISSUER}/jwks`,
    },
  };
}

async function storedPkce(providerId: string) {
  const row = await env.DB.prepare("SELECT oidc_config FROM sso_provider WHERE provider_id = ?")
    .bind(providerId)
    .first<{ oidc_config: string }>();
  return row === null ? undefined : (JSON.parse(row.oidc_config) as { pkce?: boolean }).pkce;
}

describe("PKCE to the org's IdP cannot be turned off (RFC 9700 §2.1.1)", () => {
  it("a registration with pkce: false is refused 400 SSO_PKCE_REQUIRED and nothing is stored", async () => {
    const owner = await signUp("Owner");
    const body = registration(owner.orgId, false);
    const response = await api("/sso/register", body, { Cookie: owner.cookie });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code?: string }).code).toBe(SSO_PKCE_REQUIRED);
    expect(await storedPkce(body.providerId)).toBeUndefined();
  });

  it("an update setting pkce: false is refused 400 SSO_PKCE_REQUIRED and the provider keeps PKCE", async () => {
    const owner = await signUp("Owner");
    const body = registration(owner.orgId, true);
    expect((await api("/sso/register", body, { Cookie: owner.cookie })).status).toBe(200);
    const response = await api(
      "/sso/update-provider",
      { providerId: body.providerId, oidcConfig: { pkce: false } },
      { Cookie: owner.cookie },
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code?: string }).code).toBe(SSO_PKCE_REQUIRED);
    expect(await storedPkce(body.providerId)).toBe(true);
  });

  it("a provider stored with pkce: false (from before the check) signs nobody in: the callback answers 400 SSO_PKCE_REQUIRED", async () => {
    const owner = await signUp("Owner");
    const domain = `acme-${crypto.randomUUID().slice(0, 8)}.example`;
    const providerId = await registerIdp(owner.orgId, owner.cookie, domain);
    await env.DB.prepare(
      "UPDATE sso_provider SET oidc_config = json_set(oidc_config, '$.pkce', json('false')) WHERE provider_id = ?",
    )
      .bind(providerId)
      .run();
    expect(await storedPkce(providerId)).toBe(false);
    const response = await signInThroughIdp(providerId, { sub: crypto.randomUUID(), email: `ann@${domain}` });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code?: string }).code).toBe(SSO_PKCE_REQUIRED);
    expect(await env.DB.prepare("SELECT id FROM user WHERE email = ?").bind(`ann@${domain}`).first()).toBeNull();
  });

  it("the authorization request carries an S256 code challenge", async () => {
    const owner = await signUp("Owner");
    const body = registration(owner.orgId, true);
    expect((await api("/sso/register", body, { Cookie: owner.cookie })).status).toBe(200);
    await env.DB.prepare("UPDATE sso_provider SET domain_verified = 1 WHERE provider_id = ?")
      .bind(body.providerId)
      .run();
    const started = await api("/sign-in/sso", { providerId: body.providerId, callbackURL: "/app" });
    expect(started.status).toBe(200);
    const url = new URL(((await started.json()) as { url: string }).url);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
  });
});

describe("an address is in the provider's domain only by its one '@'", { timeout: 60_000 }, () => {
  it.each([
    ["jane@acme.test@evil.test", "acme.test"],
    ["jane@evil.test@acme.test", "acme.test"],
    ["jane@ acme.test", "acme.test"],
    ["@acme.test", "acme.test"],
  ])("%s is outside %s", (email, domains) => {
    expect(emailInProviderDomain(email, domains)).toBe(false);
  });

  it("the IdP asserting `x@<domain>@evil` creates nobody: SSO_EMAIL_OUTSIDE_PROVIDER_DOMAIN", async () => {
    const owner = await signUp("Owner");
    const domain = `acme-${crypto.randomUUID().slice(0, 8)}.example`;
    const providerId = await registerIdp(owner.orgId, owner.cookie, domain);
    const email = `mallory@${domain}@evil.example`;
    const response = await signInThroughIdp(providerId, { sub: crypto.randomUUID(), email });
    expect(response.status).toBe(302);
    expect(landing(response).error).toBe("SSO_EMAIL_OUTSIDE_PROVIDER_DOMAIN");
    expect(await env.DB.prepare("SELECT id FROM user WHERE email = ?").bind(email).first()).toBeNull();
  });
});

describe("a domain one org verified is not another org's to register (GHSA-gv74-j8m3-fg5f)", {
  timeout: 60_000,
}, () => {
  async function ownerOfVerified() {
    const a = await signUp("Owner A");
    const domain = `acme-${crypto.randomUUID().slice(0, 8)}.example`;
    await registerIdp(a.orgId, a.cookie, domain);
    return { a, domain };
  }

  it.each([
    ["the same domain", (d: string) => d],
    ["its uppercase with a root dot", (d: string) => `${d.toUpperCase()}.`],
    ["a subdomain, in a list", (d: string) => `b-own.example, eu.${d}`],
  ])("%s: 409 SSO_DOMAIN_CLAIMED, nothing stored", async (_name, spell) => {
    const { domain } = await ownerOfVerified();
    const b = await signUp("Owner B");
    const body = { ...registration(b.orgId, true), domain: spell(domain) };
    const response = await api("/sso/register", body, { Cookie: b.cookie });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { code?: string }).code).toBe(SSO_DOMAIN_CLAIMED);
    expect(await storedPkce(body.providerId)).toBeUndefined();
  });

  it("an update moving another org's provider onto it: 409 SSO_DOMAIN_CLAIMED; the owning org may add a second", async () => {
    const { a, domain } = await ownerOfVerified();
    const b = await signUp("Owner B");
    const body = registration(b.orgId, true);
    expect((await api("/sso/register", body, { Cookie: b.cookie })).status).toBe(200);
    const update = await api("/sso/update-provider", { providerId: body.providerId, domain }, { Cookie: b.cookie });
    expect(update.status).toBe(409);
    expect(((await update.json()) as { code?: string }).code).toBe(SSO_DOMAIN_CLAIMED);
    const own = { ...registration(a.orgId, true), domain };
    expect((await api("/sso/register", own, { Cookie: a.cookie })).status).toBe(200);
  });
});

describe("the provider's fetched endpoints pass the outbound URL guard (GHSA-5rr4-8452-hf4v)", {
  timeout: 60_000,
}, () => {
  it.each([
    ["jwksEndpoint", "https://intranet/jwks"],
    ["tokenEndpoint", "https://vault.internal/token"],
    ["userInfoEndpoint", "http://idp.public.example/userinfo"],
    ["jwksEndpoint", "https://user:pw@idp.public.example/jwks"],
  ])("a registration naming %s %s: 400 ERR_OUTBOUND_URL_FORBIDDEN, nothing stored", async (field, url) => {
    const owner = await signUp("Owner");
    const body = registration(owner.orgId, true);
    const response = await api(
      "/sso/register",
      { ...body, oidcConfig: { ...body.oidcConfig, [field]: url } },
      { Cookie: owner.cookie },
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code?: string }).code).toBe(OUTBOUND_URL_FORBIDDEN);
    expect(await storedPkce(body.providerId)).toBeUndefined();
  });

  it("an update naming one: 400 ERR_OUTBOUND_URL_FORBIDDEN", async () => {
    const owner = await signUp("Owner");
    const body = registration(owner.orgId, true);
    expect((await api("/sso/register", body, { Cookie: owner.cookie })).status).toBe(200);
    const response = await api(
      "/sso/update-provider",
      { providerId: body.providerId, oidcConfig: { tokenEndpoint: "https://vault.internal/token" } },
      { Cookie: owner.cookie },
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code?: string }).code).toBe(OUTBOUND_URL_FORBIDDEN);
  });

  it("a stored endpoint the guard refuses (discovered, or from before it) is not fetched by the callback: 400", async () => {
    const owner = await signUp("Owner");
    const domain = `acme-${crypto.randomUUID().slice(0, 8)}.example`;
    const providerId = await registerIdp(owner.orgId, owner.cookie, domain);
    await env.DB.prepare(
      "UPDATE sso_provider SET oidc_config = json_set(oidc_config, '$.tokenEndpoint', 'https://vault.internal/token') WHERE provider_id = ?",
    )
      .bind(providerId)
      .run();
    const response = await signInThroughIdp(providerId, { sub: crypto.randomUUID(), email: `ann@${domain}` });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code?: string }).code).toBe(OUTBOUND_URL_FORBIDDEN);
    expect(await env.DB.prepare("SELECT id FROM user WHERE email = ?").bind(`ann@${domain}`).first()).toBeNull();
  });
});
