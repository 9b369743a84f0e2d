// Applies the pending D1 migrations of the local databases, for `npm start`
// (scripts/start.mjs) and `mono-auth init --local` (cli/init/local-state.ts).
//
// Why not `wrangler d1 migrations apply --local`: wrangler 4.164 boots a new
// Miniflare (a workerd process) for every migration file it applies, ~0.5 s
// of CPU each, so a fresh state cost ~19 s per database and ~30-40 s for
// both. Here the two databases share ONE platform proxy (one boot, ~1 s)
// and each migration is one batch through its D1 binding: ~2 s in all.
//
// What stays wrangler's, so `wrangler d1 migrations apply` afterwards agrees
// ("No migrations to apply!") and `wrangler dev` reads the same files:
//  - the databases are wrangler's own local ones: the proxy is wrangler's
//    getPlatformProxy (never a Miniflare of our own, which could be another
//    version than the one `wrangler dev` runs), given each binding's entry
//    from its wrangler config as written, so wrangler derives the local id
//    (preview_database_id ?? database_id ?? binding) and the sqlite file;
//    the state directory is `<persist-to>/v3`, where `--persist-to` puts it;
//  - the bookkeeping mirrors wrangler's src/d1/migrations/helpers.ts: the
//    config's migrations_table (default d1_migrations) created with the same
//    statement, applied names read in id order, the migrations_dir relative
//    to the config, `*.sql` files ordered as wrangler orders them (leading
//    number, then name), each file plus its bookkeeping row one atomic batch
//    split by wrangler's own splitter, the name quoted as wrangler quotes it.
// `--remote` (cli/init/remote-plan.ts) still runs `wrangler d1 migrations apply --remote`.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix, resolve } from "node:path";
import { WORKERS } from "./workers.mjs";

const ROOT = resolve(import.meta.dirname, "..");

/** The local databases and the config that binds each (the audit one only the token Worker binds). */
export const LOCAL_DATABASES = [
  { binding: "DB", config: WORKERS.gateway.config },
  { binding: "AUDIT_DB", config: WORKERS.token.config },
];

/** wrangler's DEFAULT_MIGRATION_TABLE and DEFAULT_MIGRATION_PATH. */
const DEFAULT_TABLE = "d1_migrations";
const DEFAULT_DIR = "./migrations";

/** A migration that could not be applied, or a database that cannot be migrated; `message` says which and why. */
export class LocalMigrationError extends Error {}

/** wrangler's escapeIdentifier. */
function identifier(name) {
  return `"${name.replace(/"/g, '""')}"`;
}

/** wrangler's getCreateMigrationsTableQuery, to the byte. */
function createTableQuery(table) {
  return `CREATE TABLE IF NOT EXISTS ${identifier(table)}(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);`;
}

/** wrangler's getListAppliedMigrationsQuery. */
function listAppliedQuery(table) {
  return `SELECT *
		FROM ${identifier(table)}
		ORDER BY id`;
}

/** wrangler's buildMigrationQuery: the file, then its bookkeeping row, so one batch holds both. */
function migrationQuery(dir, name, table) {
  return `${readFileSync(join(dir, name), "utf8")}
INSERT INTO ${identifier(table)} (name)
values ('${name.replace(/'/g, "''")}');`;
}

/** wrangler's normalizeRelativePath. */
function normalize(path) {
  const normalized = posix.normalize(path.replace(/\\/g, "/"));
  return normalized.endsWith("/") ? normalized.slice(0, -1) : normalized;
}

/** wrangler's leadingMigrationNumber / compareSegments, for top-level files. */
function compareNames(a, b) {
  const an = Number.parseInt(a.split("_")[0], 10);
  const bn = Number.parseInt(b.split("_")[0], 10);
  if (an !== bn) {
    if (Number.isFinite(an) && Number.isFinite(bn)) return an - bn;
    if (Number.isFinite(an)) return -1;
    if (Number.isFinite(bn)) return 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * wrangler's getD1MigrationFiles for the default pattern `<dir>/*.sql`:
 * regular files only (a link or folder is not a migration), none starting
 * with a dot (minimatch's `dot: false`).
 * @param {string} dir
 */
function migrationNames(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.startsWith(".") && entry.name.endsWith(".sql"))
    .map((entry) => entry.name)
    .sort(compareNames);
}

/**
 * One database's migration settings, resolved from its config as wrangler's
 * resolveMigrationsConfig and getMigrationsPath resolve them.
 */
function resolveDatabase(readConfig, root, { binding, config }) {
  const parsed = readConfig({ config: resolve(root, config) });
  const entry = parsed.d1_databases.find((d) => d.binding === binding || d.database_name === binding);
  if (!entry) throw new LocalMigrationError(`Couldn't find a D1 DB with the name or binding '${binding}' in ${config}`);
  if (entry.migrations_pattern !== undefined) {
    // Not used here; wrangler's glob semantics for it are not mirrored, so refuse rather than guess.
    throw new LocalMigrationError(
      `${binding} in ${config} sets migrations_pattern, which the local migrator does not support`,
    );
  }
  const dir = resolve(dirname(parsed.configPath), normalize(entry.migrations_dir ?? DEFAULT_DIR));
  if (!existsSync(dir)) throw new LocalMigrationError(`No migrations present at ${dir}.`);
  return {
    name: binding,
    config,
    dir,
    table: entry.migrations_table || DEFAULT_TABLE,
    compatibilityDate: parsed.compatibility_date,
    // As written, minus `remote`: wrangler derives the local id (and so the sqlite file) from these.
    entry: Object.fromEntries(
      ["binding", "database_name", "database_id", "preview_database_id"]
        .filter((key) => entry[key] !== undefined)
        .map((key) => [key, entry[key]]),
    ),
  };
}

/**
 * Applies every pending migration of `databases` to wrangler's local state
 * under `persistTo` (what `--persist-to` names; relative to `root`), in one
 * platform proxy. Resolves with, per database, the files it applied (none
 * when it was up to date); rejects with a LocalMigrationError naming the
 * binding, the file and SQLite's message when a migration fails (that
 * migration is rolled back whole; the ones before it stay applied, as with
 * wrangler).
 *
 * `onDatabase(binding)` is called as each database's turn comes (the CLI's progress).
 *
 * @param {string} persistTo
 * @param {{ databases?: readonly { binding: string; config: string }[]; root?: string; onDatabase?: (binding: string) => void }} [options]
 * @returns {Promise<{ binding: string; config: string; applied: string[] }[]>}
 */
export async function applyLocalMigrations(
  persistTo,
  { databases = LOCAL_DATABASES, root = ROOT, onDatabase = () => {} } = {},
) {
  if (databases.length === 0) return [];
  // For this call only, and only where the caller set nothing: wrangler's warnings and
  // notes do not concern a migration run (`init --json` must print only its document),
  // its errors still show; a migration needs no `Request.cf`, so Miniflare must not
  // fetch one from workers.cloudflare.com (3 s timeout offline); no telemetry.
  const defaults = { WRANGLER_LOG: "error", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
  const unset = Object.keys(defaults).filter((name) => process.env[name] === undefined);
  for (const name of unset) process.env[name] = defaults[name];
  const scratch = mkdtempSync(join(tmpdir(), "mono-auth-migrate-"));
  try {
    const { getPlatformProxy, unstable_readConfig, unstable_splitSqlQuery } = await import("wrangler");
    const resolved = databases.map((database) => resolveDatabase(unstable_readConfig, root, database));
    const bindings = new Map();
    for (const { entry } of resolved) {
      const same = bindings.get(entry.binding);
      if (same && JSON.stringify(same) !== JSON.stringify(entry)) {
        throw new LocalMigrationError(
          `two different databases are bound as ${entry.binding}; migrate them one at a time`,
        );
      }
      bindings.set(entry.binding, entry);
    }
    // A config of only the databases: the proxy boots no Worker, Durable Object or
    // service of ours and reads no .dev.vars.
    const configPath = join(scratch, "wrangler.json");
    writeFileSync(
      configPath,
      JSON.stringify({
        name: "mono-auth-local-migrations",
        compatibility_date: resolved[0]?.compatibilityDate,
        d1_databases: [...bindings.values()],
      }),
    );
    const proxy = await getPlatformProxy({
      configPath,
      persist: { path: join(resolve(root, persistTo), "v3") },
      remoteBindings: false,
    });
    try {
      const results = [];
      for (const { name, config, dir, table, entry } of resolved) {
        onDatabase(name);
        const db = proxy.env[entry.binding];
        await db.prepare(createTableQuery(table)).run();
        const done = (await db.prepare(listAppliedQuery(table)).all()).results.map((row) => row.name);
        const pending = migrationNames(dir).filter((file) => !done.includes(file));
        for (const file of pending) {
          try {
            const queries = unstable_splitSqlQuery(migrationQuery(dir, file, table));
            await db.batch(queries.map((query) => db.prepare(query)));
          } catch (error) {
            // As wrangler reports it: the cause's message is SQLite's.
            const cause = error?.cause ?? error;
            throw new LocalMigrationError(
              `migration ${file} of ${name} (${config}) failed: ${cause?.message ?? String(cause)}`,
            );
          }
        }
        results.push({ binding: name, config, applied: pending });
      }
      return results;
    } finally {
      await proxy.dispose();
    }
  } finally {
    for (const name of unset) delete process.env[name];
    rmSync(scratch, { recursive: true, force: true });
  }
}
