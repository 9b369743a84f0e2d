// Starts the whole system (gateway, token, authn, demo, org-state) with wrangler's test
// harness: the same configs `npm start` runs, on one origin, with real local
// D1, KV and Durable Objects. Used by the multi-Worker and browser tests.
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { resolve } from "node:path";
import { createTestHarness } from "wrangler";
import { originVars, SECRETS, WORKERS, type WorkerName } from "../../scripts/workers.mjs";
import { bundleDir } from "./auxiliary-workers.ts";
import { addressFetchesTo } from "./file-address.ts";
import { TEST_SECRETS } from "./secrets.ts";

const ROOT = resolve(import.meta.dirname, "../..");

export interface RunningSystem {
  /** The one origin, e.g. http://localhost:PORT */
  origin: string;
  fetch: (path: string, init?: RequestInit) => Promise<Response>;
  /** Runs a read-only query on the audit database (`AUDIT_DB`, bound by the token Worker). */
  query: <T>(sql: string, ...params: unknown[]) => Promise<T[]>;
  /** Runs a read-only query on the main database (`DB`: users, sessions, keys, …). */
  queryMain: <T>(sql: string, ...params: unknown[]) => Promise<T[]>;
  /**
   * Writes to the main database: only for what no public API can create,
   * e.g. the first platform operator, as `mono-auth operator bootstrap` does.
   */
  execMain: (sql: string, ...params: unknown[]) => Promise<void>;
  close: () => Promise<void>;
}

interface D1Like {
  prepare(sql: string): { bind(...values: unknown[]): { all<T>(): Promise<{ results: T[] }> } };
}

export interface SystemOptions {
  /** Vars for the gateway (e.g. a shorter revocation staleness bound). */
  gatewayVars?: Record<string, string>;
  /** Vars for the authn Worker (e.g. REQUIRE_EMAIL_VERIFICATION on, as in production). */
  authnVars?: Record<string, string>;
  /** Audiences the token Worker may mint for, besides `${origin}/api`. */
  extraAudiences?: string[];
  /**
   * Adds the metadata-document host of MCP clients (test/support/runtime/cimd-host,
   * its https://*.example.test documents) and sends the authn Worker's
   * Client ID Metadata Document fetches there (CIMD_OUTBOUND): https
   * client_ids without a network.
   */
  cimdHost?: boolean;
}

/** The system's Workers in `npm start`'s order (the gateway, the one origin, first). */
const ORDER: readonly WorkerName[] = ["gateway", "token", "authn", "demo", "orgState"];

/**
 * Under vitest the config has bundled every Worker once for the run
 * (vitest.config.ts, prebuildWorkers) exactly as `wrangler deploy` would: the
 * harness loads those bundles rather than building all of them again, twice,
 * for every file that starts a system.
 */
function prebuilt(configPath: string): { prebuiltWorkerDir?: string } {
  return process.env.MONO_AUTH_PREBUILT_WORKERS === "1" ? { prebuiltWorkerDir: bundleDir(configPath) } : {};
}

const CIMD_HOST = { configPath: "test/support/runtime/cimd-host/wrangler.toml", name: "mono-auth-test-cimd-host" };

function withCimdHost<W extends { configPath: string }>(workers: W[], options: SystemOptions) {
  if (!options.cimdHost) return workers;
  return [
    ...workers.map((w) =>
      w.configPath === WORKERS.authn.config ? { ...w, bindingOverrides: { CIMD_OUTBOUND: CIMD_HOST.name } } : w,
    ),
    { configPath: CIMD_HOST.configPath, ...prebuilt(CIMD_HOST.configPath) },
  ];
}

function harnessWorkers(vars?: Record<WorkerName, Record<string, string>>) {
  return ORDER.map((name) => ({
    configPath: WORKERS[name].config,
    ...prebuilt(WORKERS[name].config),
    secrets: Object.fromEntries(
      SECRETS[name].map((secret) => [secret, TEST_SECRETS[secret as keyof typeof TEST_SECRETS]]),
    ),
    ...(vars ? { vars: vars[name] } : {}),
  }));
}

/**
 * A listener on a port of the kernel's choosing that forwards each
 * connection, byte for byte (HTTP, WebSocket upgrades alike), to the harness
 * once it listens. The Workers' vars must name the origin clients use (the
 * issuer), and the harness picks its own port only as it starts: without a
 * port known beforehand, every file started the five Workers, then reloaded
 * all of them with the vars that name it, which cost about as much again.
 */
async function frontDoor(): Promise<{ port: number; forwardTo: (target: URL) => void; close: () => Promise<void> }> {
  let target: URL | undefined;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    track(client);
    if (!target) return void client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    track(upstream);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  return {
    port: (server.address() as AddressInfo).port,
    forwardTo: (url) => {
      target = url;
    },
    close: () =>
      new Promise<void>((closed) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => closed());
      }),
  };
}

/**
 * The system a file gets. In the system project (vitest.config.ts,
 * MONO_AUTH_SHARED_SYSTEM) a vitest worker runs its files one after another
 * in one module graph, and a file asking for options a file before it asked
 * for gets the system that file used: starting the five Workers and
 * migrating both databases is about 4 s of CPU, and most files ask for the
 * defaults. So every system file makes its own people, orgs and clients and
 * reads only its own rows, as the in-runtime files do, and reaches it from
 * an address of its own (file-address.ts). `close()` on a shared
 * system does nothing: the worker keeps the last few it started (each a
 * workerd), closes the oldest when it starts another, and miniflare stops
 * the rest when the worker exits.
 */
export function startSystem(options: SystemOptions = {}): Promise<RunningSystem> {
  if (process.env.MONO_AUTH_SHARED_SYSTEM !== "1") return startOwnSystem(options);
  const key = JSON.stringify(options);
  let entry = shared.get(key);
  if (entry) {
    shared.delete(key);
  } else {
    const system = startOwnSystem(options).then((own) => {
      addressFetchesTo(own.origin);
      return own;
    });
    entry = {
      running: system.then((own) => ({ ...own, close: async () => {} })),
      stop: () => system.then((own) => own.close()),
    };
    // A start that failed is not kept: the next file asking for it tries again.
    const failed = entry;
    system.catch(() => {
      if (shared.get(key) === failed) shared.delete(key);
    });
    const oldest = shared.size >= SHARED_SYSTEMS ? shared.keys().next().value : undefined;
    if (oldest !== undefined) {
      void shared
        .get(oldest)
        ?.stop()
        .catch(() => undefined);
      shared.delete(oldest);
    }
  }
  // Most recently asked for last: the first key is the one to close next.
  shared.set(key, entry);
  return entry.running;
}

/** How many systems a vitest worker keeps running: the defaults and the few option sets files interleave with them. */
const SHARED_SYSTEMS = 3;

const shared = new Map<string, { running: Promise<RunningSystem>; stop: () => Promise<void> }>();

async function startOwnSystem(options: SystemOptions): Promise<RunningSystem> {
  // The issuer must be the origin the clients use: the front door's, known
  // before the harness starts, so the Workers start once with the right vars.
  const door = await frontDoor();
  const origin = `http://localhost:${door.port}`;
  const vars = originVars(origin);
  vars.gateway = { ...vars.gateway, ...options.gatewayVars };
  vars.authn = { ...vars.authn, ...options.authnVars };
  vars.token = {
    ...vars.token,
    ALLOWED_AUDIENCES: [vars.token.ALLOWED_AUDIENCES, ...(options.extraAudiences ?? [])].join(" "),
  };
  const harness = createTestHarness({ root: ROOT, workers: withCimdHost(harnessWorkers(vars), options) });
  door.forwardTo((await harness.listen()).url);
  await Promise.all([
    harness.getWorker("mono-auth-gateway").applyD1Migrations("DB"),
    // The audit database is bound only by the token Worker, its one writer.
    harness.getWorker("mono-auth-token").applyD1Migrations("AUDIT_DB"),
  ]);
  return {
    origin,
    fetch: (path, init) => fetch(new URL(path, origin), { redirect: "manual", ...init }),
    query: async <T>(sql: string, ...params: unknown[]) => {
      const env = (await harness.getWorker("mono-auth-token").getEnv()) as { AUDIT_DB: D1Like };
      return all<T>(env.AUDIT_DB, sql, params);
    },
    queryMain: async <T>(sql: string, ...params: unknown[]) => {
      const env = (await harness.getWorker("mono-auth-gateway").getEnv()) as { DB: D1Like };
      return all<T>(env.DB, sql, params);
    },
    execMain: async (sql: string, ...params: unknown[]) => {
      const env = (await harness.getWorker("mono-auth-gateway").getEnv()) as { DB: D1Like };
      await all(env.DB, sql, params);
    },
    close: async () => {
      await harness.close();
      await door.close();
    },
  };
}

async function all<T>(db: D1Like, sql: string, params: unknown[]): Promise<T[]> {
  return (
    await db
      .prepare(sql)
      .bind(...params)
      .all<T>()
  ).results;
}
