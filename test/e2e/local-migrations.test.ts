// scripts/local-migrations.mjs (what `npm start` and `mono-auth init --local`
// migrate with) against wrangler's own `d1 migrations apply --local`, on a
// database of a throwaway config whose names need wrangler's quoting (a
// migrations_table with a double quote, a file with an apostrophe) and whose
// files need its ordering (9 before 10; dotfiles, other extensions and
// folders are not migrations). Both must pick the same files in the same
// order and keep the same bookkeeping rows, so either can take over from the
// other; a failing migration names its file and SQLite's message.
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyLocalMigrations, LocalMigrationError } from "../../scripts/local-migrations.mjs";
import { runWrangler } from "../support/mono-auth-cli.ts";

const TABLE = 'my "migrations"';
const APPLIED_IN_ORDER = ["0001_it's.sql", "9_a.sql", "10_b.sql"];

/** A config binding one database `T`, its migrations in `m/`: the three above plus what is not a migration. */
function project(): { config: string; dir: string; state: string } {
  const root = mkdtempSync(join(tmpdir(), "mono-auth-local-migrations-"));
  const dir = join(root, "m");
  mkdirSync(join(dir, "sub"), { recursive: true });
  const config = join(root, "wrangler.toml");
  writeFileSync(
    config,
    [
      'name = "local-migrations-test"',
      'compatibility_date = "2026-11-01"',
      "[[d1_databases]]",
      'binding = "T"',
      'database_name = "local-migrations-test"',
      // A fresh id per project, so no two runs can meet in one sqlite file.
      `database_id = "${randomUUID()}"`,
      'migrations_dir = "m"',
      `migrations_table = ${JSON.stringify(TABLE)}`,
    ].join("\n"),
  );
  writeFileSync(join(dir, "0001_it's.sql"), "CREATE TABLE q (id INTEGER);\n");
  writeFileSync(join(dir, "9_a.sql"), "CREATE TABLE a (id INTEGER);\nINSERT INTO a VALUES (1);\n");
  writeFileSync(join(dir, "10_b.sql"), "CREATE TABLE b (id INTEGER);\n");
  writeFileSync(join(dir, ".hidden.sql"), "CREATE TABLE hidden (id INTEGER);\n");
  writeFileSync(join(dir, "README.md"), "not a migration\n");
  writeFileSync(join(dir, "sub", "0003_nested.sql"), "CREATE TABLE nested (id INTEGER);\n");
  return { config, dir, state: join(root, "state") };
}

const wranglerApply = (config: string, state: string) =>
  runWrangler(["d1", "migrations", "apply", "T", "--local", "--persist-to", state, "-c", config]);

async function bookkeeping(config: string, state: string): Promise<string[]> {
  const query = await runWrangler(
    ["d1", "execute", "T", "--local", "--persist-to", state, "-c", config, "--json", "--command"].concat(
      `SELECT name FROM "my ""migrations""" ORDER BY id`,
    ),
  );
  expect(query.code, query.stderr).toBe(0);
  const [{ results }] = JSON.parse(query.stdout) as [{ results: { name: string }[] }];
  return results.map((row) => row.name);
}

describe("local D1 migrations in one platform proxy", () => {
  it("apply the files wrangler applies, in its order, with its bookkeeping rows; each then finds nothing left", async () => {
    const { config, state } = project();
    const ours = await applyLocalMigrations(state, { databases: [{ binding: "T", config }] });
    expect(ours).toEqual([{ binding: "T", config, applied: APPLIED_IN_ORDER }]);

    const theirs = project();
    const wrangler = await wranglerApply(theirs.config, theirs.state);
    expect(wrangler.code, wrangler.stderr).toBe(0);

    expect(await bookkeeping(config, state)).toEqual(APPLIED_IN_ORDER);
    expect(await bookkeeping(theirs.config, theirs.state)).toEqual(APPLIED_IN_ORDER);

    // Each takes the other's state as fully migrated.
    const again = await wranglerApply(config, state);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("No migrations to apply!");
    expect(await applyLocalMigrations(theirs.state, { databases: [{ binding: "T", config: theirs.config }] })).toEqual([
      { binding: "T", config: theirs.config, applied: [] },
    ]);
  }, 120_000);

  it("a failing migration fails with its file and SQLite's message, rolled back whole; the ones before it stay", async () => {
    const { config, dir, state } = project();
    const bad = join(dir, "11_bad.sql");
    writeFileSync(bad, "CREATE TABLE half (id INTEGER);\nINSERT INTO nowhere VALUES (1);\n");
    const databases = [{ binding: "T", config }];

    const failed = applyLocalMigrations(state, { databases });
    await expect(failed).rejects.toBeInstanceOf(LocalMigrationError);
    await expect(failed).rejects.toThrow(
      new Error(`migration 11_bad.sql of T (${config}) failed: no such table: nowhere: SQLITE_ERROR`),
    );

    // Fixed, only it is pending; its first statement did not stay behind (CREATE TABLE half would fail).
    writeFileSync(bad, "CREATE TABLE half (id INTEGER);\nCREATE TABLE whole (id INTEGER);\n");
    expect(await applyLocalMigrations(state, { databases })).toEqual([
      { binding: "T", config, applied: ["11_bad.sql"] },
    ]);
    expect(await bookkeeping(config, state)).toEqual([...APPLIED_IN_ORDER, "11_bad.sql"]);
  }, 120_000);

  it("a binding its config does not declare is refused by name", async () => {
    const { config, state } = project();
    await expect(applyLocalMigrations(state, { databases: [{ binding: "NOPE", config }] })).rejects.toThrow(
      new Error(`Couldn't find a D1 DB with the name or binding 'NOPE' in ${config}`),
    );
  });
});
