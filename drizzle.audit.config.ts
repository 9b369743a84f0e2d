import { defineConfig } from "drizzle-kit";

/** The audit database (`AUDIT_DB`) has its own schema and its own migrations. */
export default defineConfig({
  dialect: "sqlite",
  schema: "./shared/db/audit-schema.ts",
  out: "./migrations/audit",
});
