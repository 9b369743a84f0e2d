// Config for Better Auth's schema generator, for the bench's own Better Auth
// Worker only (see bench/README.md, "The oauth-provider Worker"):
//   npx auth generate --config ./bench/oauth-provider/auth.cli.ts --output bench/oauth-provider/src/schema.ts --yes
//   npx drizzle-kit generate --config bench/oauth-provider/drizzle.config.ts
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { benchAuthOptions } from "./src/options.ts";

export const auth = betterAuth({
  ...benchAuthOptions("http://localhost:8787"),
  secret: "schema-generation-only-not-a-real-secret",
  database: drizzleAdapter({}, { provider: "sqlite" }),
});
