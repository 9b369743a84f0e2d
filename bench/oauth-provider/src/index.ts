import type { D1Database } from "@cloudflare/workers-types";
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { drizzle } from "drizzle-orm/d1";
import { benchAuthOptions } from "./options.ts";
import * as schema from "./schema.ts";
import { registerBenchClient } from "./setup.ts";

/**
 * The contestant of `npm run bench` a user would deploy instead of our token
 * Worker: Better Auth with `@better-auth/oauth-provider` on its own D1.
 *
 *   /api/auth/*        Better Auth (its token endpoint is /api/auth/oauth2/token)
 *   POST /bench/setup  registers one confidential client_credentials client
 *                      (src/setup.ts); needs `Authorization: Bearer <SETUP_SECRET>`
 *
 * The Env is spelled out here rather than generated (like
 * bench/passthrough): the root (Node) project type-checks this file too.
 */
export interface OAuthProviderEnv {
  DB: D1Database;
  BETTER_AUTH_SECRET: string;
  /** This Worker's own origin: Better Auth's baseURL and the tokens' `iss`. */
  BASE_URL: string;
  /** The RFC 8707 resource the bench's client asks tokens for. */
  RESOURCE: string;
  /** Written to .dev.vars by the bench, so only the bench can register clients. */
  SETUP_SECRET: string;
}

function createAuth(env: OAuthProviderEnv) {
  return betterAuth({
    ...benchAuthOptions(env.BASE_URL, env.RESOURCE),
    secret: env.BETTER_AUTH_SECRET,
    database: drizzleAdapter(drizzle(env.DB, { schema }), { provider: "sqlite", schema }),
  });
}

export type BenchAuth = ReturnType<typeof createAuth>;

/** One instance per isolate, as a real deployment keeps it (building it is not free). */
const instances = new WeakMap<OAuthProviderEnv, BenchAuth>();

function getAuth(env: OAuthProviderEnv): BenchAuth {
  let auth = instances.get(env);
  if (!auth) {
    auth = createAuth(env);
    instances.set(env, auth);
  }
  return auth;
}

export default {
  async fetch(request: Request, env: OAuthProviderEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/api/auth/")) return getAuth(env).handler(request);
    if (url.pathname === "/bench/setup" && request.method === "POST") {
      if (request.headers.get("Authorization") !== `Bearer ${env.SETUP_SECRET}`) {
        return new Response("forbidden", { status: 403 });
      }
      return Response.json(await registerBenchClient(getAuth(env), env.RESOURCE, env.SETUP_SECRET), { status: 201 });
    }
    return new Response("not found", { status: 404 });
  },
};
