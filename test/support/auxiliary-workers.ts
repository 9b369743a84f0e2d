// Builds the Workers a project's Worker under test binds to, so in-runtime
// tests talk to the real neighbours (service bindings, the per-org Durable
// Object) instead of stand-ins. Each is bundled by wrangler exactly as it
// would be deployed (`deploy --dry-run`).
import { spawn, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

const ROOT = resolve(import.meta.dirname, "../..");

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * `renamed` maps a Worker's configured name to the name it runs under in
 * this project: the plugin renames the Worker under test to its runner, so
 * a neighbour's service binding back to it (the token Worker's AUTHN, the
 * authn Worker's TOKEN_SERVICE) is pointed at the runner.
 */
export function buildAuxiliaryWorker(
  configPath: string,
  bindings: Record<string, string> = {},
  renamed: Record<string, string> = {},
) {
  const config = resolve(ROOT, configPath);
  // modulesRules and rootPath describe a source tree; the bundle needs neither.
  const {
    workerOptions: { modulesRules: _rules, rootPath: _root, ...workerOptions },
  } = unstable_getMiniflareWorkerOptions(config);
  const name: string | undefined = unstable_readConfig({ config }).name;
  if (!name) throw new Error(`${configPath} has no name`);
  const outdir = bundleDir(configPath);
  if (!built.has(outdir)) built.set(outdir, bundle(config, outdir, name));
  for (const target of Object.values(workerOptions.serviceBindings ?? {})) {
    const named = target as { name?: unknown };
    if (typeof named === "object" && typeof named.name === "string" && named.name in renamed) {
      named.name = renamed[named.name];
    }
  }
  return {
    ...workerOptions,
    name,
    modules: true,
    scriptPath: resolve(outdir, "index.js"),
    bindings: { ...(workerOptions.bindings as Record<string, Json> | undefined), ...bindings },
  };
}

/** One bundle per Worker per test run, however many projects bind it. */
const built = new Map<string, true>();

const BUNDLE_ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

/**
 * wrangler's own script on the Node running the tests (22, as wrangler
 * needs): `npx wrangler` started npm's CLI first, a Node process per bundle
 * that only resolved this path (about a fifth of each bundle's CPU).
 */
const WRANGLER = resolve(ROOT, "node_modules/wrangler/bin/wrangler.js");

function bundleArgs(config: string, outdir: string): string[] {
  return [WRANGLER, "deploy", "--dry-run", "--outdir", outdir, "-c", config];
}

function bundle(config: string, outdir: string, name: string): true {
  const result = spawnSync(process.execPath, bundleArgs(config, outdir), {
    cwd: ROOT,
    encoding: "utf8",
    env: BUNDLE_ENV,
  });
  if (result.status !== 0) throw new Error(`building ${name} failed:\n${result.stdout}\n${result.stderr}`);
  return true;
}

/** Where a Worker's bundle lands: `.build/<its configured name>`. */
export function bundleDir(configPath: string): string {
  const name = unstable_readConfig({ config: resolve(ROOT, configPath) }).name;
  if (!name) throw new Error(`${configPath} has no name`);
  return resolve(ROOT, ".build", name);
}

/**
 * Bundles these Workers up front, two at a time (each bundle is mostly one
 * wrangler process waiting on its own start-up, so a second overlaps it on
 * CI's two cores), so buildAuxiliaryWorker finds them built and the test
 * harness (test/support/system.ts) can load them as `prebuiltWorkerDir`
 * instead of bundling all five Workers again for every test file.
 */
export async function prebuildWorkers(configPaths: readonly string[], concurrency = 2): Promise<void> {
  const queue = [...new Set(configPaths)].map((configPath) => ({
    config: resolve(ROOT, configPath),
    outdir: bundleDir(configPath),
  }));
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const { config, outdir } = next;
      if (built.has(outdir)) continue;
      built.set(outdir, true);
      await new Promise<void>((done, fail) => {
        const child = spawn(process.execPath, bundleArgs(config, outdir), { cwd: ROOT, env: BUNDLE_ENV });
        let output = "";
        child.stdout.on("data", (chunk) => {
          output += chunk;
        });
        child.stderr.on("data", (chunk) => {
          output += chunk;
        });
        child.on("error", fail);
        child.on("close", (code) => (code === 0 ? done() : fail(new Error(`building ${config} failed:\n${output}`))));
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
