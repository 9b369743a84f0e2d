// Social sign-in by configuration (workers/authn/src/auth/plugins/social.ts),
// the account-linking rule every outside identity meets
// (GHSA-g38m-r43w-p2q7), and no account from an address its provider did
// not verify. GitHub, Google and Microsoft cannot be reached from
// a test, so this checks what Better Auth runs with: which providers are on,
// where each sends the person, and the linking options it reads at the
// callback (better-auth/dist/oauth2/link-account.mjs). The rule is proven
// live through a real upstream IdP in test/e2e/sso-oidc.test.ts.
import { runWithEndpointContext } from "@better-auth/core/context";
import { env } from "cloudflare:workers";
import { type BetterAuthOptions, betterAuth } from "better-auth";
import { APIError } from "better-auth/api";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import * as schema from "../../shared/db/schema.ts";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import {
  ACCOUNT_LINKING,
  parseSocialProviders,
  SOCIAL_EMAIL_NOT_VERIFIED,
  socialSignInPlugin,
} from "../../workers/authn/src/auth/plugins/social.ts";
import { api, uniqueEmail } from "./helpers.ts";

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

/**
 * The running Worker's own account creation, as Better Auth's endpoint on
 * `path` runs it (the social callback cannot be driven without the
 * provider): through its database hooks, on real D1.
 */
async function createdOn(path: string, email: string, emailVerified: boolean) {
  const context = await getAuth(env).$context;
  const endpoint = { path, params: {}, context } as unknown as Parameters<typeof runWithEndpointContext>[0];
  return runWithEndpointContext(endpoint, () =>
    context.internalAdapter.createUser(
      { email, name: "Someone", emailVerified },
      path.startsWith("/sign-up/")
        ? { method: "email-password" }
        : { method: "oauth", oauth: { providerId: "github" } },
    ),
  ).then(
    (user) => ({ user }),
    (error: unknown) => ({ error }),
  );
}

async function accountsWith(email: string) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM user WHERE email = ?").bind(email).first<{ n: number }>();
  return row?.n;
}

describe("non-verifying IdP: no account from an address the provider does not vouch for", () => {
  it.each(["/callback/:id", "/sign-in/social"])(
    "on %s, an unverified address is 403 SOCIAL_EMAIL_NOT_VERIFIED and nothing is written",
    async (path) => {
      const email = uniqueEmail();
      const { error } = (await createdOn(path, email, false)) as { error?: unknown };
      expect(error).toBeInstanceOf(APIError);
      expect((error as APIError).statusCode).toBe(403);
      expect((error as APIError).body?.code).toBe(SOCIAL_EMAIL_NOT_VERIFIED);
      expect(await accountsWith(email)).toBe(0);
    },
  );

  it("a verified address is created; so is an email sign-up's, which is confirmed by mail instead", async () => {
    for (const [path, verified] of [
      ["/callback/:id", true],
      ["/sign-up/email", false],
    ] as const) {
      const email = uniqueEmail();
      expect(await createdOn(path, email, verified), path).toMatchObject({ user: { email } });
      expect(await accountsWith(email), path).toBe(1);
    }
  });
});
