import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Every in-runtime project that runs this binds DB, AUDIT_DB (the audit
// database, vitest.config.ts) and both migration lists; applying is idempotent.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await applyD1Migrations(env.AUDIT_DB, env.TEST_AUDIT_MIGRATIONS);
