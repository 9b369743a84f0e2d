// Starts and stops `wrangler dev` processes for the bench. Each runs in its
// own process group (npx → wrangler → workerd), so stopping the group stops
// all of it; `stopAll` runs on exit, Ctrl-C and errors, so no workerd is left
// behind to skew the next run.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { groupCpuSeconds } from "./cpu.ts";

export const WRANGLER_ENV: Readonly<Record<string, string>> = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  // One log line per request otherwise: megabytes and CPU during a load run.
  WRANGLER_WRITE_LOGS: "false",
  // Miniflare's local observability collector (the local explorer's traces):
  // a Worker in the same workerd that writes every invocation, subrequest and
  // binding call of every Worker to SQLite. Under the gateway part it took
  // more CPU than the gateway Worker itself, and its cost grows with the spans
  // a request makes, so it weighed on a contestant of several Workers (gateway,
  // demo, audit queue and consumer) more than on one of one. Cloudflare runs
  // nothing like it on a Worker's CPU: every contestant is measured without it.
  X_LOCAL_OBSERVABILITY: "false",
};

export interface DevServer {
  name: string;
  origin: string;
  /** workerd's DevTools inspector (`wrangler dev --inspector-port`), for CPU profiles (lib/profile.ts). */
  inspectorPort: number;
  logFile: string;
  /** CPU seconds used so far by the whole `wrangler dev` (lib/cpu.ts); null where /proc is missing. */
  cpuSeconds(): number | null;
  /** The process group of the whole `wrangler dev` (for readings of one kind of process in it: lib/sign-in.ts). */
  pgid: number;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Synchronous, for `process.on("exit")`: nothing async runs there. */
export function stopAllNow(): void {
  for (const child of running) killGroup(child, "SIGKILL");
  running.clear();
}

let hooksInstalled = false;
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", stopAllNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      stopAllNow();
      process.exit(130);
    });
  }
  // `npm run` dies on SIGTERM without passing it on; an orphaned bench would
  // keep a whole system busy on a machine others share, so it stops too.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      stopAllNow();
      process.exit(143);
    }
  }, 1_000).unref();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `npx wrangler …` in `cwd`, to completion; throws with its output on failure. */
export function wranglerSync(cwd: string, args: readonly string[]): void {
  const result = spawnSync("npx", ["wrangler", ...args], {
    cwd,
    env: { ...process.env, ...WRANGLER_ENV, CI: "true" },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${result.stdout}${result.stderr}`);
}

export interface StartOptions {
  name: string;
  cwd: string;
  configs: readonly string[];
  port: number;
  persistTo?: string;
  /** A path on the server that answers (any status below 500) once it is up. */
  readyPath: string;
  logDir: string;
  timeoutMs?: number;
}

export async function startDevServer(options: StartOptions): Promise<DevServer> {
  installHooks();
  const origin = `http://localhost:${options.port}`;
  const inspectorPort = await freePort();
  const args = ["wrangler", "dev", ...options.configs.flatMap((c) => ["-c", c])];
  args.push("--port", String(options.port), "--inspector-port", String(inspectorPort));
  args.push("--show-interactive-dev-session=false", "--log-level", "warn");
  if (options.persistTo) args.push("--persist-to", options.persistTo);
  const logFile = join(options.logDir, `${options.name}.log`);
  const log = openSync(logFile, "a");
  const child = spawn("npx", args, {
    cwd: options.cwd,
    env: { ...process.env, ...WRANGLER_ENV },
    stdio: ["ignore", log, log],
    // A new process group (setsid-like), so the whole tree is stopped at once.
    detached: true,
  });
  closeSync(log);
  running.add(child);
  let exited: number | null | undefined;
  child.on("exit", (code) => {
    exited = code;
    running.delete(child);
  });

  const stop = async () => {
    if (exited !== undefined) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    killGroup(child, "SIGTERM");
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5_000);
    await gone;
    clearTimeout(timer);
    // npx may exit before workerd does; make sure the group is empty.
    killGroup(child, "SIGKILL");
  };

  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new Error(`${options.name}: wrangler dev exited (${exited}) before it was ready:\n${tail(logFile)}`);
    }
    try {
      const response = await fetch(new URL(options.readyPath, origin), { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      if (response.status < 500) {
        const pgid = child.pid as number;
        return {
          name: options.name,
          origin,
          inspectorPort,
          logFile,
          cpuSeconds: () => groupCpuSeconds(pgid),
          pgid,
          stop,
        };
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await stop();
  throw new Error(`${options.name}: not ready after ${options.timeoutMs ?? 90_000} ms:\n${tail(logFile)}`);
}

export function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
