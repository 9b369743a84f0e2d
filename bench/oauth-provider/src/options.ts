import { oauthProvider } from "@better-auth/oauth-provider";
import type { BetterAuthOptions } from "better-auth";
import { jwt } from "better-auth/plugins";

/** The scope the bench's client may be issued, the one our side asks for too. */
export const BENCH_SCOPE = "documents:read";

/** The only person allowed to register clients: the bench's own setup user. */
export const SETUP_EMAIL = "bench-admin@example.com";

/**
 * Better Auth with its OAuth 2.1 provider, configured as a user would for
 * machine clients: the plugin's defaults, plus what client_credentials
 * needs. Shared by the Worker and the schema generator (auth.cli.ts), so the
 * D1 schema matches what runs.
 *
 * Choices that matter for the comparison (bench/README.md):
 * - `resources`: the token request names this resource, so the plugin
 *   issues a signed JWT access token (`at+jwt`, like ours) instead of an
 *   opaque token stored in D1. Clients are linked to it at registration
 *   (`enforcePerClientResources` stays at its default, on), as ours are to
 *   their audiences.
 * - ES256 signing keys (the JWT plugin's default is EdDSA): the same
 *   signature algorithm as our token Worker.
 * - Better Auth's own rate limiter off: the bench raises ours out of the way too.
 */
export function benchAuthOptions(baseURL: string, resource?: string) {
  // The plugin seeds `resources` into the database at start-up; the schema
  // generator has no database, and resources add no columns.
  const resources = resource === undefined ? [] : [resource];
  return {
    baseURL,
    basePath: "/api/auth",
    emailAndPassword: { enabled: true },
    rateLimit: { enabled: false },
    plugins: [
      jwt({ jwks: { keyPairConfig: { alg: "ES256" } } }),
      oauthProvider({
        // Required by the plugin for browser flows; the bench uses none.
        loginPage: "/sign-in",
        consentPage: "/consent",
        scopes: ["openid", "profile", "email", "offline_access", BENCH_SCOPE],
        resources,
        clientRegistrationDefaultResources: resources,
        // client_credentials scopes may only be granted by someone this allows.
        clientPrivileges: ({ user }) => user?.email === SETUP_EMAIL,
      }),
    ],
  } satisfies Omit<BetterAuthOptions, "database" | "secret">;
}
