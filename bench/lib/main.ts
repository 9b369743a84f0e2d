// `npm run bench`: the gateway against a bare pass-through, then a sign-in
// against one bare hash. See bench/README.md for how to read the numbers.
import { originVars } from "../../scripts/workers.mjs";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BrowserLikeClient, httpOrigin } from "../../test/support/browser-like-client.ts";
import { type DevServer, freePort, startDevServer, stopAllNow, wranglerSync } from "./dev-server.ts";
import { type Contestant, type RunResult, loadRun } from "./load.ts";
import { shadowTree } from "./shadow-tree.ts";
import { formatSignIn, measureSignIn, type SignInResult } from "./sign-in.ts";
import { median, round, table } from "./stats.ts";

const CHECKOUT = resolve(import.meta.dirname, "../..");
const PASSTHROUGH_CONFIG = "bench/passthrough/wrangler.toml";
const DEMO_CONFIG = "workers/demo/wrangler.toml";
const HASH_CONFIG = "bench/hash/wrangler.toml";

/** The configs the system needs, in `npm start`'s order (scripts/workers.mjs). */
export interface SystemConfigs {
  all: readonly string[];
  gateway: string;
  token: string;
  authn: string;
}

interface Options {
  rounds: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  signIns: number;
  signInOnly: boolean;
  skipSignIn: boolean;
  keepTemp: boolean;
}

function options(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      rounds: { type: "string", default: "5" },
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "3" },
      connections: { type: "string", default: "10" },
      "sign-ins": { type: "string", default: "20" },
      "sign-in-only": { type: "boolean", default: false },
      "no-sign-in": { type: "boolean", default: false },
      "keep-temp": { type: "boolean", default: false },
    },
  });
  const int = (name: string, value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got ${value}`);
    return n;
  };
  return {
    rounds: int("rounds", values.rounds),
    durationSeconds: int("duration", values.duration),
    warmupSeconds: int("warmup", values.warmup),
    connections: int("connections", values.connections),
    signIns: int("sign-ins", values["sign-ins"]),
    signInOnly: values["sign-in-only"],
    skipSignIn: values["no-sign-in"],
    keepTemp: values["keep-temp"],
  };
}

interface Throughput {
  runs: RunResult[];
  invalidRuns: number;
  medians: Record<string, { requestsPerSecond: number; p50Ms: number; p99Ms: number }>;
  ratio: { requestsPerSecond: number; p50: number; p99: number };
}

function summarise(runs: RunResult[], names: readonly string[]): Throughput {
  const valid = runs.filter((r) => r.valid);
  const medians = Object.fromEntries(
    names.map((name) => {
      const mine = valid.filter((r) => r.contestant === name);
      return [
        name,
        {
          requestsPerSecond: median(mine.map((r) => r.requestsPerSecond)),
          p50Ms: median(mine.map((r) => r.p50Ms)),
          p99Ms: median(mine.map((r) => r.p99Ms)),
        },
      ];
    }),
  );
  const [gateway, passthrough] = names.map((n) => medians[n]) as [
    Throughput["medians"][string],
    Throughput["medians"][string],
  ];
  return {
    runs,
    invalidRuns: runs.length - valid.length,
    medians,
    ratio: {
      requestsPerSecond: gateway.requestsPerSecond / passthrough.requestsPerSecond,
      p50: gateway.p50Ms / passthrough.p50Ms,
      p99: gateway.p99Ms / passthrough.p99Ms,
    },
  };
}

function formatThroughput(t: Throughput, o: Options): string {
  const f = (v: number, d = 1) => (Number.isFinite(v) ? round(v, d).toFixed(d) : "n/a");
  const rows = Object.entries(t.medians).map(([name, m]) => [name, f(m.requestsPerSecond, 0), f(m.p50Ms), f(m.p99Ms)]);
  rows.push(["ratio gateway / pass-through", f(t.ratio.requestsPerSecond, 2), f(t.ratio.p50, 2), f(t.ratio.p99, 2)]);
  const head = `GET /api/documents, medians of ${o.rounds} alternating runs × ${o.durationSeconds} s, ${o.connections} connections`;
  return `${head}\n${table(["contestant", "req/s", "p50 ms", "p99 ms"], rows)}`;
}

interface Result {
  date: string;
  machine: Record<string, string | number>;
  loadAverage: { atStart: number[]; atEnd?: number[] };
  options: Options;
  throughput?: Throughput;
  signIn?: SignInResult;
}

function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

export async function main(argv: readonly string[], configs: SystemConfigs): Promise<void> {
  const o = options(argv);
  const temp = mkdtempSync(join(tmpdir(), "mono-auth-bench-"));
  const servers: DevServer[] = [];
  let failed = false;
  // Ctrl-C ends the process from the signal handler (dev-server.ts), past the `finally` below.
  const removeTemp = () => {
    if (!o.keepTemp && !failed) rmSync(temp, { recursive: true, force: true });
  };
  process.on("exit", removeTemp);
  const stop = async (server: DevServer | undefined) => {
    if (!server) return;
    await server.stop();
    servers.splice(servers.indexOf(server), 1);
  };
  try {
    const tree = shadowTree(CHECKOUT, join(temp, "tree"), [...configs.all, PASSTHROUGH_CONFIG, HASH_CONFIG]);
    const logDir = join(temp, "logs");
    mkdirSync(logDir);
    const state = join(temp, "state");
    const [portA, portB, portHash] = [await freePort(), await freePort(), await freePort()];
    const origin = `http://localhost:${portA}`;
    const audience = `${origin}/api`;

    // The issuer and audiences follow the bench's own origin; the secrets are
    // fresh for a fresh database (scripts/start.mjs does the same for `npm start`).
    // The rate limits (`[[ratelimits]]` in the authn and token configs) would
    // refuse the bench's repeated sign-ins and token requests from one address
    // with 429s; the bench measures the work, not the limiter, so its private
    // copies of those configs raise them.
    for (const config of [configs.authn, configs.token]) {
      tree.editFile(config, (toml) =>
        toml.replace(/simple = \{ limit = \d+, period = (\d+) \}/g, "simple = { limit = 1000000, period = $1 }"),
      );
    }
    const vars = originVars(origin);
    tree.writeDevVars(configs.gateway, vars.gateway);
    tree.writeDevVars(configs.token, {
      ...vars.token,
      // Long enough that no token expires during a long run.
      ACCESS_TOKEN_TTL_SECONDS: "3600",
      KEY_ENCRYPTION_SECRET: randomBytes(32).toString("base64url"),
    });
    tree.writeDevVars(configs.authn, {
      ...vars.authn,
      BETTER_AUTH_SECRET: randomBytes(32).toString("base64url"),
    });

    log(`temp tree ${tree.root}; applying D1 migrations`);
    // The main database through the gateway's config, the audit database through the token Worker's (its only binder).
    for (const [binding, config] of [
      ["DB", configs.gateway],
      ["AUDIT_DB", configs.token],
    ] as const) {
      wranglerSync(tree.root, ["d1", "migrations", "apply", binding, "--local", "--persist-to", state, "-c", config]);
    }

    log(`starting the system (gateway, token, authn, demo, …) on ${origin}`);
    const system = await startDevServer({
      name: "system",
      cwd: tree.root,
      configs: configs.all,
      port: portA,
      persistTo: state,
      readyPath: "/.well-known/oauth-authorization-server",
      logDir,
    });
    servers.push(system);

    const user = { email: `bench-${crypto.randomUUID()}@example.com`, password: "correct horse battery staple" };
    // The same client the e2e tests use: sign-up, an organization, cookies.
    const client = new BrowserLikeClient(httpOrigin(origin));
    const { orgId } = await client.signUp(user.email, user.password);

    const wrangler = JSON.parse(readFileSync(join(CHECKOUT, "node_modules/wrangler/package.json"), "utf8")) as {
      version: string;
    };
    const result: Result = {
      date: new Date().toISOString(),
      machine: {
        cores: availableParallelism(),
        cpu: cpus()[0]?.model ?? "unknown",
        node: process.version,
        wrangler: wrangler.version,
      },
      // Other work on the machine skews both contestants, not always alike: keep the load with the numbers.
      loadAverage: { atStart: loadavg().map((v) => round(v)) },
      options: o,
    };
    if ((loadavg()[0] ?? 0) > 0.5)
      log(
        `note: load average ${loadavg()[0]?.toFixed(2)} before measuring; other work on the machine skews the numbers`,
      );

    if (!o.signInOnly) {
      const exchange = await client.exchangeSessionForToken(audience, "documents:read");
      const { access_token: token } = (await exchange.json()) as { access_token?: string };
      if (exchange.status !== 200 || !token) throw new Error(`token exchange: HTTP ${exchange.status}`);
      log(`signed up ${user.email}, org ${orgId}, got an access token`);

      const passthrough = await startDevServer({
        name: "passthrough",
        cwd: tree.root,
        configs: [PASSTHROUGH_CONFIG, DEMO_CONFIG],
        port: portB,
        persistTo: join(temp, "state-passthrough"),
        readyPath: "/api/documents",
        logDir,
      });
      servers.push(passthrough);

      const contestants: [Contestant, Contestant] = [
        { name: "gateway", url: `${origin}/api/documents`, headers: { Authorization: `Bearer ${token}` } },
        { name: "pass-through", url: `${passthrough.origin}/api/documents`, headers: {} },
      ];
      // Both must answer 200 with the same number of rows, or they do different work.
      const rows: number[] = [];
      for (const c of contestants) {
        const response = await fetch(c.url, { headers: c.headers });
        const body = await response.text();
        if (response.status !== 200)
          throw new Error(`${c.name}: GET /api/documents answered ${response.status}: ${body.slice(0, 300)}`);
        rows.push((JSON.parse(body) as { documents: unknown[] }).documents.length);
      }
      if (rows[0] !== rows[1])
        throw new Error(
          `the contestants return different rows (${rows.join(" vs ")}): the pass-through's fixed filter is out of date`,
        );
      log(`both contestants answer 200 with ${String(rows[0])} documents`);

      const load = { connections: o.connections, durationSeconds: o.durationSeconds };
      if (o.warmupSeconds > 0) {
        log(`warm-up, ${o.warmupSeconds} s each`);
        for (const c of contestants) await loadRun(c, 0, { ...load, durationSeconds: o.warmupSeconds });
      }
      const runs: RunResult[] = [];
      for (let round = 1; round <= o.rounds; round++) {
        // Alternate who goes first, so a drift in the machine's state favours neither.
        const order = round % 2 === 1 ? contestants : [contestants[1], contestants[0]];
        for (const c of order) {
          const run = await loadRun(c, round, load);
          runs.push(run);
          const flag = run.valid
            ? ""
            : `  INVALID: non-2xx ${run.non2xx}, errors ${run.errors}, timeouts ${run.timeouts} ${JSON.stringify(run.statusCodes)}`;
          log(
            `round ${round} ${c.name.padEnd(12)} ${run.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${run.p50Ms} ms  p99 ${run.p99Ms} ms${flag}`,
          );
        }
      }
      result.throughput = summarise(
        runs,
        contestants.map((c) => c.name),
      );
      console.log(`\n${formatThroughput(result.throughput, o)}`);
      if (result.throughput.invalidRuns > 0)
        console.log(
          `\n${result.throughput.invalidRuns} run(s) had non-2xx responses or errors and are left out of the medians.`,
        );
      console.log("");
      await stop(passthrough);
    }

    if (!o.skipSignIn) {
      log("starting the hash Worker");
      const hash = await startDevServer({
        name: "hash",
        cwd: tree.root,
        configs: [HASH_CONFIG],
        port: portHash,
        readyPath: "/?hash=0",
        logDir,
      });
      servers.push(hash);
      log(`timing ${o.signIns} sign-ins and ${o.signIns} bare hashes, one at a time`);
      result.signIn = await measureSignIn(origin, hash.origin, o.signIns, user);
      await stop(hash);
      console.log(`\n${formatSignIn(result.signIn)}\n`);
    }

    result.loadAverage.atEnd = loadavg().map((v) => round(v));
    const out = join(CHECKOUT, "bench/results");
    mkdirSync(out, { recursive: true });
    // A partial run must not overwrite the last full one.
    const file = o.signInOnly ? "latest-sign-in.json" : o.skipSignIn ? "latest-throughput.json" : "latest.json";
    writeFileSync(join(out, file), `${JSON.stringify(result, null, 2)}\n`);
    log(`results written to bench/results/${file}`);
    if (result.throughput && result.throughput.invalidRuns > 0) process.exitCode = 1;
  } catch (error) {
    failed = true;
    for (const s of servers) console.error(`--- ${s.name} log: ${s.logFile}`);
    throw error;
  } finally {
    for (const s of [...servers].reverse()) await stop(s);
    stopAllNow();
    if (o.keepTemp || failed) console.log(`temp files kept in ${temp}`);
    else removeTemp();
  }
}
