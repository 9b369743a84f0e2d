// Which paths of @better-auth/sso this deployment serves, and that every one
// that can create an account checks the address against the provider's
// verified domain (workers/authn/src/sso/provider-domain.ts). The shared
// OIDC callback driven end to end through a real IdP is in
// test/e2e/sso-oidc.test.ts.
import { env } from "cloudflare:workers";
import { APIError } from "better-auth/api";
import { describe, expect, it } from "vitest";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import {
  SSO_EMAIL_OUTSIDE_PROVIDER_DOMAIN,
  userInProviderDomain,
} from "../../workers/authn/src/sso/provider-domain.ts";
import { SSO_SAML_NOT_OFFERED } from "../../workers/authn/src/sso/provider-registration.ts";
import { api, get, ORIGIN, signUp } from "./helpers.ts";

const IDP = "https://idp.example.com";

type HookContext = NonNullable<Parameters<typeof userInProviderDomain>[1]>;

/** A registration body an org admin could send; endpoints given, so nothing is fetched. */
function oidcProvider(organizationId: string) {
  const providerId = `idp-${crypto.randomUUID().slice(0, 8)}`;
  return {
    providerId,
    issuer: IDP,
    domain: `${providerId}.example.com`,
    organizationId,
    oidcConfig: {
      clientId: "mono-auth",
      clientSecret: "upstream-secret",
      skipDiscovery: true,
      pkce: true,
      authorizationEndpoint: `${IDP}/authorize`,
      tokenEndpoint: `${IDP}/token`,
      jwksEndpoint: `${IDP}/jwks`,
    },
  };
}

/** A manual SAML IdP configuration the plugin itself would accept. */
const SAML_CONFIG = {
  entryPoint: `${IDP}/saml/sso`,
  cert: "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGVGb3JUZXN0czAKBggqhkjOPQQDAjAA\n-----END CERTIFICATE-----",
  idpMetadata: { entityID: `${IDP}/saml` },
};

/** The user Better Auth would create just in time for the IdP's person. */
function newUser(email: string) {
  const now = new Date();
  return { id: crypto.randomUUID(), email, name: "Someone", emailVerified: false, createdAt: now, updatedAt: now };
}

/**
 * The endpoint context Better Auth hands its `user.create.before` hook on an
 * SSO path: the route, its params, and the running auth context (real D1).
 * Called outside a request, no OAuth state is parsed, as on a path that has
 * no state or lost it.
 */
async function onPath(path: string, params: Record<string, string>): Promise<HookContext> {
  const context = await getAuth(env).$context;
  return { path, params, context } as unknown as HookContext;
}

async function refusal(promise: Promise<unknown>) {
  const thrown = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(thrown).toBeInstanceOf(APIError);
  const { statusCode, body } = thrown as APIError;
  return { statusCode, code: body?.code };
}

describe("the provider-domain check holds on every SSO path that creates an account", () => {
  it("the shared /sso/callback with no provider to be found: refused, even for an address some provider owns", async () => {
    const owner = await signUp("Owner");
    const body = oidcProvider(owner.orgId);
    expect((await api("/sso/register", body, { Cookie: owner.cookie })).status).toBe(200);
    const context = await onPath("/sso/callback", {});
    expect(await refusal(userInProviderDomain(newUser(`jane@${body.domain}`), context))).toEqual({
      statusCode: 403,
      code: SSO_EMAIL_OUTSIDE_PROVIDER_DOMAIN,
    });
  });

  it("the SAML ACS (provider from its path): an outside address is refused, one in the domain passes", async () => {
    const owner = await signUp("Owner");
    const body = oidcProvider(owner.orgId);
    expect((await api("/sso/register", body, { Cookie: owner.cookie })).status).toBe(200);
    const context = await onPath("/sso/saml2/sp/acs/:providerId", { providerId: body.providerId });
    expect(await refusal(userInProviderDomain(newUser("ceo@other-company.test"), context))).toEqual({
      statusCode: 403,
      code: SSO_EMAIL_OUTSIDE_PROVIDER_DOMAIN,
    });
    await expect(userInProviderDomain(newUser(`jane@${body.domain}`), context)).resolves.toBeUndefined();
  });

  it("a path that is not SSO's is not this check's (sign-up has its own rules)", async () => {
    const context = await onPath("/sign-up/email", {});
    await expect(userInProviderDomain(newUser("ceo@other-company.test"), context)).resolves.toBeUndefined();
  });
});

describe("SAML is not offered", () => {
  it("a provider registered with a samlConfig is refused SSO_SAML_NOT_OFFERED", async () => {
    const owner = await signUp("Owner");
    const providerId = `saml-${crypto.randomUUID().slice(0, 8)}`;
    const response = await api(
      "/sso/register",
      {
        providerId,
        issuer: IDP,
        domain: `${providerId}.example.com`,
        organizationId: owner.orgId,
        samlConfig: SAML_CONFIG,
      },
      { Cookie: owner.cookie },
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code?: string }).code).toBe(SSO_SAML_NOT_OFFERED);
    expect(
      await env.DB.prepare("SELECT id FROM sso_provider WHERE provider_id = ?").bind(providerId).first(),
    ).toBeNull();
  });

  it("an OIDC provider cannot be given a samlConfig by update: SSO_SAML_NOT_OFFERED", async () => {
    const owner = await signUp("Owner");
    const body = oidcProvider(owner.orgId);
    expect((await api("/sso/register", body, { Cookie: owner.cookie })).status).toBe(200);
    const response = await api(
      "/sso/update-provider",
      { providerId: body.providerId, samlConfig: SAML_CONFIG },
      { Cookie: owner.cookie },
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code?: string }).code).toBe(SSO_SAML_NOT_OFFERED);
    const row = await env.DB.prepare("SELECT saml_config FROM sso_provider WHERE provider_id = ?")
      .bind(body.providerId)
      .first<{ saml_config: string | null }>();
    expect(row).toEqual({ saml_config: null });
  });

  it.each([
    ["POST", "/api/auth/sso/saml2/sp/acs/any-idp"],
    ["GET", "/api/auth/sso/saml2/sp/acs/any-idp"],
    ["POST", "/api/auth/sso/saml2/sp/slo/any-idp"],
    ["POST", "/api/auth/sso/saml2/logout/any-idp"],
    ["GET", "/api/auth/sso/saml2/sp/metadata?providerId=any-idp"],
  ])("%s %s is not served: 404", async (method, path) => {
    const response =
      method === "GET"
        ? await get(path)
        : await api(path.slice("/api/auth".length), { SAMLResponse: "PHNhbWxwOlJlc3BvbnNlLz4=" }, { Origin: ORIGIN });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("");
  });
});
