import { defineConfig } from "drizzle-kit";

// The bench's Better Auth Worker has its own database and migrations.
export default defineConfig({
  dialect: "sqlite",
  schema: "./bench/oauth-provider/src/schema.ts",
  out: "./bench/oauth-provider/migrations",
});
