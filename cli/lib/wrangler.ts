import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { CliError } from "./errors.ts";
import { CHECKOUT_ROOT } from "./options.ts";

/**
 * Runs the checkout's own wrangler with this process's Node (the project's
 * Node 22, which wrangler needs; a bare `wrangler` on PATH may run under an
 * older one). `input` goes to its stdin (`secret put` reads the value
 * there, so a secret is never on a command line). Its output is captured: a `--json` command must print nothing
 * but its own document, and on failure wrangler's words go to stderr.
 */
/** ANSI SGR (colour and style) sequences. */
const SGR = /\x1b\[[0-9;]*m/g;

export function runWrangler(args: readonly string[], input?: string): string {
  const require = createRequire(import.meta.url);
  const wranglerPackage = require.resolve("wrangler/package.json");
  const bin = resolve(
    dirname(wranglerPackage),
    (require(wranglerPackage) as { bin: { wrangler: string } }).bin.wrangler,
  );
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: CHECKOUT_ROOT,
    // CI: never a prompt (a migration's "Ok to proceed?"); stdin carries a secret's value.
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    ...(input === undefined ? {} : { input }),
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error) throw new CliError(`could not run wrangler: ${result.error.message}`);
  if (result.status !== 0) {
    // Wrangler colours its errors whatever FORCE_COLOR says; the CLI prints
    // them escaped (output.ts), so the colour codes would show as \x1b[31m noise.
    const said = `${result.stderr}\n${result.stdout}`.replace(SGR, "").trim().split("\n").slice(-15).join("\n");
    throw new CliError(`wrangler ${args.slice(0, 2).join(" ")} failed (exit ${result.status}):\n${said}`);
  }
  return result.stdout;
}
