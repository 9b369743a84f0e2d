// The pool's test module, loaded here as the plugin's applyD1Migrations
// loaded it: the first import in a fresh runtime (about 2.5 s on CI, vitest's
// runner fetching its modules) is then paid in setup, as it always was, not
// by a file's first test under its timeout.
import "cloudflare:test";
import { env } from "cloudflare:workers";

// Every in-runtime project that runs this binds DB, AUDIT_DB (the audit
// database, vitest.config.ts) and both migration lists; applying is idempotent.
//
// It runs before every test file; the first file of a runtime finds empty
// storage, the ones after it (vitest.config.ts, workerProjects) find every
// migration applied and send nothing. The plugin's applyD1Migrations sends
// one batch per migration (over twenty round trips to D1), this sends all
// pending ones in one batch per database, the two databases at once. Same
// table, same rows as the plugin's, so either finds what the other applied.

interface Migration {
  name: string;
  queries: string[];
}

async function applyPending(db: D1Database, migrations: Migration[]): Promise<void> {
  await db
    .prepare(
      "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
    )
    .run();
  const applied = new Set(
    (await db.prepare("SELECT name FROM d1_migrations").all<{ name: string }>()).results.map((row) => row.name),
  );
  const record = db.prepare("INSERT INTO d1_migrations (name) VALUES (?)");
  const statements = migrations
    .filter((migration) => !applied.has(migration.name))
    .flatMap((migration) => [...migration.queries.map((query) => db.prepare(query)), record.bind(migration.name)]);
  if (statements.length > 0) await db.batch(statements);
}

await Promise.all([applyPending(env.DB, env.TEST_MIGRATIONS), applyPending(env.AUDIT_DB, env.TEST_AUDIT_MIGRATIONS)]);
