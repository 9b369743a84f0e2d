// Social sign-in by configuration (workers/authn/src/auth/plugins/social.ts)
// and the account-linking rule every outside identity meets
// (GHSA-g38m-r43w-p2q7). GitHub, Google and Microsoft cannot be reached from
// a test, so this checks what Better Auth runs with: which providers are on,
// where each sends the person, and the linking options it reads at the
// callback (better-auth/dist/oauth2/link-account.mjs). The rule is proven
// live through a real upstream IdP in test/e2e/sso-oidc.test.ts.
import { env } from "cloudflare:workers";
import { type BetterAuthOptions, betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import * as schema from "../../shared/db/schema.ts";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import {
  ACCOUNT_LINKING,
  parseSocialProviders,
  socialSignInPlugin,
} from "../../workers/authn/src/auth/plugins/social.ts";
import { api } from "./helpers.ts";

const vars = (values: Record<string, string>) => (name: string) => values[name];

const ALL = {
  GITHUB_CLIENT_ID: "gh-id",
  GITHUB_CLIENT_SECRET: "gh-secret",
  GOOGLE_CLIENT_ID: "google-id.apps.googleusercontent.com",
  GOOGLE_CLIENT_SECRET: "google-secret",
  MICROSOFT_CLIENT_ID: "ms-id",
  MICROSOFT_CLIENT_SECRET: "ms-secret",
  MICROSOFT_TENANT_ID: "contoso.onmicrosoft.com",
};

function authWith(values: Record<string, string>) {
  return betterAuth({
    baseURL: env.ISSUER,
    basePath: "/api/auth",
    secret: env.BETTER_AUTH_SECRET,
    database: drizzleAdapter(drizzle(env.DB, { schema }), { provider: "sqlite", schema }),
    plugins: [socialSignInPlugin(vars(values))],
  });
}

describe("social providers by configuration", () => {
  it("none is on unless its id and secret are set", () => {
    expect(parseSocialProviders(vars({}))).toEqual({});
    expect(parseSocialProviders(vars(ALL))).toEqual({
      github: { clientId: "gh-id", clientSecret: "gh-secret" },
      google: { clientId: "google-id.apps.googleusercontent.com", clientSecret: "google-secret" },
      microsoft: { clientId: "ms-id", clientSecret: "ms-secret", tenantId: "contoso.onmicrosoft.com" },
    });
  });

  it("an id without its secret is refused at start", () => {
    expect(() => parseSocialProviders(vars({ GOOGLE_CLIENT_ID: "x" }))).toThrow(
      "GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET must be set together",
    );
  });

  it("unconfigured (as in this Worker), sign-in/social is refused 404 PROVIDER_NOT_FOUND", async () => {
    const response = await api("/sign-in/social", { provider: "github", callbackURL: "/app" });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { code: string }).code).toBe("PROVIDER_NOT_FOUND");
  });

  it.each([
    ["github", "https://github.com/login/oauth/authorize"],
    ["google", "https://accounts.google.com/o/oauth2/v2/auth"],
    ["microsoft", "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"],
  ])("configured, %s sign-in starts at %s and returns to our callback", async (provider, authorize) => {
    const auth = authWith(ALL);
    const { url } = (await auth.api.signInSocial({ body: { provider, callbackURL: "/app" } })) as { url: string };
    const started = new URL(url);
    expect(`${started.origin}${started.pathname}`).toBe(authorize);
    expect(started.searchParams.get("redirect_uri")).toBe(`${env.ISSUER}/api/auth/callback/${provider}`);
    expect(started.searchParams.get("state")).toBeTruthy();
  });
});

describe("GHSA-g38m-r43w-p2q7: no implicit link to an unverified local address", () => {
  it("the running Worker trusts no provider by name and requires both addresses verified", async () => {
    const context = await getAuth(env).$context;
    expect(context.trustedProviders).toEqual([]);
    expect((context.options as BetterAuthOptions).account?.accountLinking).toEqual(ACCOUNT_LINKING);
    expect(ACCOUNT_LINKING).toMatchObject({
      trustedProviders: [],
      requireLocalEmailVerified: true,
      allowDifferentEmails: false,
    });
  });

  it("with social providers on, the same rule holds", async () => {
    const context = await authWith(ALL).$context;
    expect(context.socialProviders.map((p) => p.id).sort()).toEqual(["github", "google", "microsoft"]);
    expect(context.trustedProviders).toEqual([]);
    expect((context.options as BetterAuthOptions).account?.accountLinking).toEqual(ACCOUNT_LINKING);
  });
});
