// `mono-auth` runs from an esbuild bundle of its TypeScript
// (cli/bundled-entry.mjs): built by the first run, reused while none of its
// sources changed, rebuilt when one did, and the sources run instead when
// no bundle can be written. Each case has a cache of its own
// (MONO_AUTH_CLI_CACHE), so the checkout's is never touched.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runCli } from "../support/mono-auth-cli.ts";

const freshCache = () => mkdtempSync(join(tmpdir(), "mono-auth-cli-cache-"));
const orgHelp = (cache: string) => runCli(["org", "--help"], { env: { MONO_AUTH_CLI_CACHE: cache } });
const manifestOf = (cache: string) =>
  JSON.parse(readFileSync(join(cache, "inputs.json"), "utf8")) as { node: string; inputs: Record<string, number> };

describe("the CLI's bundle", () => {
  it("is built by the first run, names no location of its own, and is reused while no source changed", async () => {
    const cache = freshCache();
    const first = await orgHelp(cache);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("Usage: mono-auth org");
    // Each source's import.meta was written in as that source's own location.
    expect(readFileSync(join(cache, "main.mjs"), "utf8")).not.toMatch(/import\.meta\.(?:dirname|url)/);
    const manifest = manifestOf(cache);
    expect(manifest.node).toBe(process.version);
    expect(manifest.inputs["cli/commands/org.ts"]).toBe(statSync(join(ROOT, "cli/commands/org.ts")).mtimeMs);

    const built = statSync(join(cache, "main.mjs")).mtimeMs;
    const second = await orgHelp(cache);
    expect(second.stdout).toBe(first.stdout);
    expect(statSync(join(cache, "main.mjs")).mtimeMs).toBe(built);
  });

  it("is rebuilt when a source it holds, or a package it imports, changed since it was built", async () => {
    // A package updated in place may have moved the file the bundle imports by its location.
    for (const input of ["cli/commands/org.ts", "node_modules/commander/index.js"]) {
      const cache = freshCache();
      expect((await orgHelp(cache)).code).toBe(0);
      // As if the input had changed after the bundle was built, which then would answer 7 for any command.
      const manifest = manifestOf(cache);
      expect(manifest.inputs[input], input).toBe(statSync(join(ROOT, input)).mtimeMs);
      manifest.inputs[input] = 0;
      writeFileSync(join(cache, "inputs.json"), JSON.stringify(manifest));
      writeFileSync(join(cache, "main.mjs"), "export async function run() { return 7; }\n");

      const run = await orgHelp(cache);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain("Usage: mono-auth org");
      expect(manifestOf(cache).inputs[input], input).toBe(statSync(join(ROOT, input)).mtimeMs);
    }
  });

  it("runs the sources when no bundle can be written", async () => {
    const file = join(freshCache(), "a-file");
    writeFileSync(file, "");
    const run = await orgHelp(join(file, "cache"));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Usage: mono-auth org");
  });
});
