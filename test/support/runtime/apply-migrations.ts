import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Every in-runtime project binds DB and TEST_MIGRATIONS; applying is idempotent.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
