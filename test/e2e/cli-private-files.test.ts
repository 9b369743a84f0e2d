// Files the CLI writes secrets into end up 0600 whatever was there before:
// `writeFileSync(path, …, { mode: 0o600 })` sets the mode only when it
// creates the file, so an existing secrets file (or a `.dev.vars` copied
// from its example at 0644) kept its looser mode with the secrets now in
// it, and a link placed at the path had the secrets written through it.
// scripts/private-file.mjs (the CLI's and `npm start`'s) writes a fresh 0600
// file and renames it over.
import { chmodSync, lstatSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runCli } from "../support/mono-auth-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "mono-auth-private-"));

/** The checkout's own secrets but one, so init generates that one and leaves every .dev.vars as it is. */
function secretsButOne(): string {
  const secrets = JSON.parse(readFileSync(resolve(ROOT, ".wrangler/dev-secrets.json"), "utf8")) as Record<
    string,
    string
  >;
  delete secrets.VAULT_KEY;
  return JSON.stringify(secrets);
}

describe("files holding secrets are 0600 and replaced, never written through", () => {
  it("init --local: an existing 0644 secrets file ends 0600; a link at its path is replaced, its target untouched", async () => {
    const loose = join(dir, "loose.json");
    writeFileSync(loose, secretsButOne(), { mode: 0o644 });
    chmodSync(loose, 0o644);
    const target = join(dir, "target.json");
    writeFileSync(target, secretsButOne(), { mode: 0o644 });
    const link = join(dir, "link.json");
    symlinkSync(target, link);
    const before = readFileSync(target, "utf8");
    const state = join(dir, "state");
    for (const file of [loose, link]) {
      // The first run applies every migration (one wrangler platform proxy, seconds); a loaded CI machine stretches that.
      const run = await runCli(["init", "--local", "--persist-to", state, "--secrets-file", file, "--json"], {
        timeoutMs: 120_000,
      });
      expect(run.code, run.stderr).toBe(0);
      expect((JSON.parse(run.stdout) as { secrets: { generated: string[] } }).secrets.generated).toEqual(["VAULT_KEY"]);
      expect(lstatSync(file).isFile()).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(Object.keys(JSON.parse(readFileSync(file, "utf8")) as object)).toContain("VAULT_KEY");
    }
    expect(readFileSync(target, "utf8")).toBe(before);
  }, 300_000);

  it("operator bootstrap --sql-out over an existing 0644 file leaves it 0600", async () => {
    const sql = join(dir, "bootstrap.sql");
    writeFileSync(sql, "-- placeholder\n", { mode: 0o644 });
    chmodSync(sql, 0o644);
    const profile = join(dir, "profile.json");
    const run = await runCli([
      "operator",
      "bootstrap",
      "--email",
      "private-files@example.com",
      "--sql-out",
      sql,
      "--profile",
      profile,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(statSync(sql).mode & 0o777).toBe(0o600);
    expect(readFileSync(sql, "utf8")).toMatch(/INSERT INTO oauth_client/);
    expect(statSync(profile).mode & 0o777).toBe(0o600);
  });

  // `npm start` cannot run in a test (it is the whole system on a fixed port);
  // what it writes (dev secrets, every .dev.vars, rewritten each start) goes
  // through the writer the tests above hold to 0600.
  it("npm start writes its secrets files through the same writer, never writeFileSync's mode", () => {
    const start = readFileSync(resolve(ROOT, "scripts/start.mjs"), "utf8");
    expect(start).toContain('import { writePrivateFile } from "./private-file.mjs";');
    expect(start).not.toMatch(/writeFileSync\(/);
  });
});
