// `mono-auth operator bootstrap` through wrangler, the way it writes the
// first platform operator before any exists: into a local D1 persist
// directory (as `npm start` keeps its state), migrated the way `npm start`
// migrates it (scripts/local-migrations.mjs; test/e2e/local-migrations.test.ts
// holds that to wrangler's own apply). No Worker runs; wrangler and the CLI
// are the real binaries.
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyLocalMigrations } from "../../scripts/local-migrations.mjs";
import { adminAudience } from "../../shared/contracts/endpoints.ts";
import { runCli, runWrangler } from "../support/mono-auth-cli.ts";

const URL = "https://id.example.com";

describe("mono-auth operator bootstrap", () => {
  it("writes the operator's user, operator and client rows through wrangler; again, only a new client", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mono-auth-operator-"));
    const state = join(dir, "state");
    const profile = join(dir, "profile.json");
    const d1 = ["DB", "--local", "--persist-to", state, "-c", "wrangler.toml"];
    await applyLocalMigrations(state);

    const bootstrap = () =>
      runCli([
        ..."operator bootstrap --email root@example.com --json --persist-to".split(" "),
        state,
        "--profile",
        profile,
        "--url",
        URL,
      ]);
    const first = await bootstrap();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe("");
    const second = await bootstrap();
    expect(second.code, second.stderr).toBe(0);
    const ids = [JSON.parse(first.stdout).client_id, JSON.parse(second.stdout).client_id];
    expect(statSync(profile).mode & 0o777).toBe(0o600);

    const query = await runWrangler([
      "d1",
      "execute",
      ...d1,
      "--json",
      "--command",
      `SELECT (SELECT count(*) FROM user WHERE email = 'root@example.com') AS users,
              (SELECT count(*) FROM platform_operator) AS operators,
              (SELECT group_concat(client_id) FROM oauth_client
                WHERE org_id IS NULL AND scopes = 'admin' AND audiences = '${adminAudience(URL)}'
                  AND auth_method = 'client_secret_basic' AND status = 'active') AS clients`,
    ]);
    expect(query.code, query.stderr).toBe(0);
    const [{ results }] = JSON.parse(query.stdout) as [
      { results: { users: number; operators: number; clients: string }[] },
    ];
    expect(results[0]).toMatchObject({ users: 1, operators: 1 });
    expect(results[0]?.clients.split(",").sort()).toEqual(ids.sort());
  }, 120_000);

  it("refuses when wrangler cannot write (no such config), with wrangler's words on stderr and no profile written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mono-auth-operator-"));
    const profile = join(dir, "profile.json");
    const result = await runCli([
      ..."operator bootstrap --email root@example.com --config".split(" "),
      join(dir, "missing.toml"),
      "--persist-to",
      join(dir, "state"),
      "--profile",
      profile,
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/wrangler d1 execute failed/);
    // Wrangler's words without its colour codes, which would print escaped as \x1b[31m noise.
    expect(result.stderr).toMatch(/\[ERROR\] Could not read file: .*missing\.toml/);
    expect(result.stderr).not.toContain("\\x1b");
    expect(() => statSync(profile)).toThrow();
  }, 60_000);
});
