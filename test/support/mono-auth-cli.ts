// Runs the `mono-auth` binary (cli/mono-auth.mjs, package.json `bin`) as a
// child process, as an operator or a host would, for the system tests.
import { execFile } from "node:child_process";
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
const CLI = resolve(ROOT, "cli/mono-auth.mjs");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a Node script with this process's Node (the project's Node 22) and
 * resolves with its exit code and output. Asynchronous on purpose: the test
 * harness serves the system from this same process, so a synchronous spawn
 * would block the very server the child talks to.
 */
export function runNode(script: string, args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [script, ...args],
      { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Killed after this long (default 60 s); a run that applies every migration takes longer on a busy machine. */
  timeoutMs?: number;
}

export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  return runNode(CLI, args, options);
}

/** The checkout's wrangler, the way the CLI runs it (cli/lib/wrangler.ts). */
export function runWrangler(args: readonly string[]): Promise<CliRun> {
  return runNode(resolve(ROOT, "node_modules/wrangler/bin/wrangler.js"), args, {
    env: { CI: "true", WRANGLER_SEND_METRICS: "false" },
  });
}
