// Config for Better Auth's schema generator (`npm run db:generate`). It uses the
// same options as the Worker so the generated drizzle schema cannot drift.
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { baseAuthOptions } from "../workers/authn/src/auth/options.ts";

export const auth = betterAuth({
  ...baseAuthOptions("http://localhost:8787"),
  secret: "schema-generation-only-not-a-real-secret",
  database: drizzleAdapter({}, { provider: "sqlite" }),
});
