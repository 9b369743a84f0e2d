// `npm run bench`: the gateway against a bare pass-through, our token
// endpoint against Better Auth's oauth-provider, then a sign-in against one
// bare hash. See bench/README.md for how to read the numbers.
import * as topology from "../../scripts/workers.mjs";
import { randomBytes } from "node:crypto";
import type { WorkerEntry, WorkerName } from "../../scripts/workers.mjs";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type DevServer, freePort, type StartOptions, startDevServer, stopAllNow, wranglerSync } from "./dev-server.ts";
import { type BundleSize, formatBundles, measureBundles } from "./gateway-bundle-sizes.ts";
import { formatThroughput, measureGateway, type Throughput } from "./gateway-part.ts";
import { bootstrapOperator } from "./machine-clients.ts";
import { type Options, options, PARTS } from "./options.ts";
import { formatPdp, measurePdp } from "./pdp-part.ts";
import { log, type RoundOptions } from "./rounds.ts";
import { formatRevocation, measureRevocation, type RevocationResult } from "./revocation-part.ts";
import { shadowTree } from "./shadow-tree.ts";
import { formatSignIn, measureSignIn, type SignInResult } from "./sign-in.ts";
import { createOrganization, signedUpPerson } from "./sign-in-accounts.ts";
import { round } from "./stats.ts";
import { formatTokens, measureTokens, type TokenResult } from "./token-part.ts";

const CHECKOUT = resolve(import.meta.dirname, "../..");
const HASH_CONFIG = "bench/hash/wrangler.toml";

/** The configs the system needs, in `npm start`'s order (scripts/workers.mjs). */
export interface SystemConfigs {
  all: readonly string[];
  gateway: string;
  token: string;
  authn: string;
}

interface Result {
  date: string;
  machine: Record<string, string | number>;
  loadAverage: { atStart: number[]; atEnd?: number[] };
  options: Options;
  throughput?: Throughput;
  tokens?: TokenResult;
  revocation?: RevocationResult;
  signIn?: SignInResult;
  bundles?: BundleSize[];
}

/** What scripts/workers.mjs may add: secrets computed from the others (e.g. public keys), not random. */
interface DerivedSecrets {
  DERIVED_SECRETS?: readonly string[];
  derivedSecrets?: (secrets: Record<string, string>) => Promise<Record<string, string>>;
}

async function freshSecrets(): Promise<Record<string, string>> {
  const { DERIVED_SECRETS = [], derivedSecrets } = topology as unknown as DerivedSecrets;
  const names = [...new Set(Object.values(topology.SECRETS).flat())].filter((n) => !DERIVED_SECRETS.includes(n));
  const secrets = Object.fromEntries(names.map((n) => [n, randomBytes(32).toString("base64url")]));
  return { ...secrets, ...(derivedSecrets ? await derivedSecrets(secrets) : {}) };
}

export async function main(argv: readonly string[], configs: SystemConfigs): Promise<void> {
  const o = options(argv);
  // In this process, before any Worker starts; alone: `npx node bench/lib/pdp-part.ts`.
  if (o.parts.length === PARTS.length) console.log(`\n${formatPdp(measurePdp())}\n`);
  const wants = (part: (typeof PARTS)[number]) => o.parts.includes(part);
  const rounds: RoundOptions = {
    rounds: o.rounds,
    durationSeconds: o.durationSeconds,
    warmupSeconds: o.warmupSeconds,
    connections: o.connections,
  };
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
    const tree = shadowTree(CHECKOUT, join(temp, "tree"));
    const logDir = join(temp, "logs");
    // Before any Worker runs: bundling takes a core.
    const bundles = wants("bundles") ? measureBundles(tree.root, join(temp, "bundles")) : undefined;
    if (bundles) console.log(`\n${formatBundles(bundles)}\n`);
    mkdirSync(logDir);
    const start = async (options: Omit<StartOptions, "logDir" | "cwd">) => {
      const server = await startDevServer({ ...options, cwd: tree.root, logDir });
      servers.push(server);
      return server;
    };
    const state = join(temp, "state");
    const [portA, portB, portHash] = [await freePort(), await freePort(), await freePort()];
    const origin = `http://localhost:${portA}`;
    const audience = `${origin}/api`;

    // The rate limits (`[[ratelimits]]`: authn's credential limiters, the
    // token endpoint's TOKEN_ENDPOINT_LIMITER, any other) would refuse the
    // bench's repeated sign-ins and token requests from one address with
    // 429s; the bench measures the work, not the limiter, so its private
    // copies of the configs raise them. (The org's per-client mint limit is
    // raised through the admin API: token-part.ts.)
    for (const worker of Object.values(topology.WORKERS)) {
      tree.editFile(worker.config, (toml) =>
        toml.replace(/simple = \{ limit = \d+, period = (\d+) \}/g, "simple = { limit = 1000000, period = $1 }"),
      );
    }
    // The issuer and audiences follow the bench's own origin; every secret
    // is fresh for a fresh database, the derived ones computed from them,
    // as scripts/start.mjs does for `npm start` (one list: scripts/workers.mjs).
    const secrets = await freshSecrets();
    const vars = topology.originVars(origin);
    const devVars: Partial<Record<WorkerName, Record<string, string>>> = {};
    for (const [name, worker] of Object.entries(topology.WORKERS) as [WorkerName, WorkerEntry][]) {
      const values: Record<string, string> = { ...vars[name] };
      for (const secret of topology.SECRETS[name]) values[secret] = secrets[secret] as string;
      // Long enough that no token expires during a long run.
      if (name === "token") values.ACCESS_TOKEN_TTL_SECONDS = "3600";
      // As production runs (config.ts's default): no sign-in before the
      // address is confirmed, the mail read from the dev mailbox as a
      // developer would (lib/sign-in-accounts.ts), so the sign-in measured
      // is the one a deployment serves.
      if (name === "authn")
        Object.assign(values, { REQUIRE_EMAIL_VERIFICATION: "true", MAIL_TRANSPORT: "dev-mailbox" });
      tree.writeDevVars(worker.config, values);
      devVars[name] = values;
    }

    log(`temp tree ${tree.root}; applying D1 migrations`);
    // The main database through the gateway's config, the audit database through the token Worker's (its only binder).
    for (const [binding, config] of [
      ["DB", configs.gateway],
      ["AUDIT_DB", configs.token],
    ] as const) {
      wranglerSync(tree.root, ["d1", "migrations", "apply", binding, "--local", "--persist-to", state, "-c", config]);
    }
    // The first platform operator, as `mono-auth operator bootstrap` writes it, before anything runs.
    const operator =
      wants("tokens") || wants("revocation")
        ? await bootstrapOperator({ cwd: tree.root, persistTo: state, config: configs.gateway, issuer: origin })
        : undefined;

    log(`starting the system (gateway, token, authn, demo, …) on ${origin}`);
    const systemOptions = {
      name: "system",
      configs: configs.all,
      port: portA,
      persistTo: state,
      readyPath: "/.well-known/oauth-authorization-server",
    };
    let system = await start(systemOptions);

    const user = { email: `bench-${crypto.randomUUID()}@example.com`, password: "correct horse battery staple" };
    // The same client the e2e tests use (cookies, Origin): sign-up, the
    // address confirmed from the dev mailbox, an organization.
    const person = await signedUpPerson(origin, user.email, user.password);
    const client = person.client;
    const { userId } = person;
    const orgId = await createOrganization(person);

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
      bundles,
    };
    if ((loadavg()[0] ?? 0) > 0.5)
      log(
        `note: load average ${loadavg()[0]?.toFixed(2)} before measuring; other work on the machine skews the numbers`,
      );

    let accessToken = "";
    if (wants("gateway") || wants("tokens")) {
      const exchange = await client.exchangeSessionForToken(audience, "documents:read");
      const { access_token: token } = (await exchange.json()) as { access_token?: string };
      if (exchange.status !== 200 || !token) throw new Error(`token exchange: HTTP ${exchange.status}`);
      accessToken = token;
      log(`signed up ${user.email}, org ${orgId}, got an access token`);
    }

    if (wants("gateway")) {
      result.throughput = await measureGateway({
        tree,
        gatewayVars: devVars.gateway ?? {},
        temp,
        origin,
        system,
        accessToken,
        port: portB,
        oauthProviderPort: await freePort(),
        rounds,
        start,
        stop,
      });
      console.log(`\n${formatThroughput(result.throughput, rounds)}\n`);
      if (result.throughput.invalidRuns > 0)
        console.log(
          `${result.throughput.invalidRuns} run(s) had non-2xx responses or errors and are left out of the medians.\n`,
        );
    }

    if (wants("tokens") && operator) {
      result.tokens = await measureTokens({
        tree,
        temp,
        checkout: CHECKOUT,
        origin,
        audience,
        system,
        operator,
        user: { userId, orgId, accessToken },
        rounds,
        sequentialCount: o.sequential,
        start,
        stop,
      });
      console.log(`\n${formatTokens(result.tokens, rounds)}\n`);
      if (result.tokens.invalidRuns > 0)
        console.log(
          `${result.tokens.invalidRuns} run(s) had non-2xx responses or errors and are left out of the medians.\n`,
        );
    }

    if (wants("revocation") && operator) {
      const gatewayConfig = topology.WORKERS.gateway.config;
      result.revocation = await measureRevocation({
        origin,
        audience,
        operator,
        client,
        orgId,
        trials: o.trials,
        revokedEntries: o.revoked,
        fanOut: o.fanOut,
        rounds,
        cpuSeconds: () => system.cpuSeconds(),
        // Same state and port; only the gateway's revocation vars change.
        restartWithGatewayVars: async (vars) => {
          await stop(system);
          tree.writeDevVars(gatewayConfig, { ...devVars.gateway, ...vars });
          system = await start(systemOptions);
          return system;
        },
      });
      console.log(`\n${formatRevocation(result.revocation)}\n`);
    }

    if (wants("sign-in")) {
      log("starting the hash Worker");
      const hash = await start({ name: "hash", configs: [HASH_CONFIG], port: portHash, readyPath: "/?hash=0" });
      log(`timing ${o.signIns} sign-ins and ${o.signIns} bare hashes, one at a time`);
      result.signIn = await measureSignIn(system, hash, o.signIns, user);
      await stop(hash);
      console.log(`\n${formatSignIn(result.signIn)}\n`);
    }

    result.loadAverage.atEnd = loadavg().map((v) => round(v));
    const out = join(CHECKOUT, "bench/results");
    mkdirSync(out, { recursive: true });
    // A partial run must not overwrite the last full one.
    const file = o.parts.length === PARTS.length ? "latest.json" : `latest-${o.parts.join("-")}.json`;
    writeFileSync(join(out, file), `${JSON.stringify(result, null, 2)}\n`);
    log(`results written to bench/results/${file}`);
    if ((result.throughput?.invalidRuns ?? 0) > 0 || (result.tokens?.invalidRuns ?? 0) > 0) process.exitCode = 1;
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
