// The bundles part of `npm run bench`: every Worker's upload as
// `wrangler deploy --dry-run --outdir` writes it, gzipped (what Cloudflare's
// size limits count). Goal: the gateway at most GATEWAY_GOAL_KIB.
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { WORKERS } from "../../scripts/workers.mjs";
import { wranglerSync } from "./dev-server.ts";
import { log } from "./rounds.ts";
import { table } from "./stats.ts";

export const GATEWAY_GOAL_KIB = 100;

export interface BundleSize {
  worker: string;
  bytes: number;
  gzipBytes: number;
}

/** Builds each Worker of the system (scripts/workers.mjs) in `cwd`, into `outdir`. */
export function measureBundles(cwd: string, outdir: string): BundleSize[] {
  const sizes: BundleSize[] = [];
  for (const [name, worker] of Object.entries(WORKERS)) {
    const out = join(outdir, name);
    mkdirSync(out, { recursive: true });
    log(`bundling ${name}`);
    wranglerSync(cwd, ["deploy", "--dry-run", "--outdir", out, "-c", worker.config]);
    let bytes = 0;
    let gzipBytes = 0;
    for (const file of filesUnder(out)) {
      // Source maps are not uploaded as code.
      if (file.endsWith(".map")) continue;
      const content = readFileSync(file);
      bytes += content.byteLength;
      gzipBytes += gzipSync(content).byteLength;
    }
    sizes.push({ worker: name, bytes, gzipBytes });
  }
  return sizes;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

export function formatBundles(sizes: readonly BundleSize[]): string {
  const kib = (n: number) => (n / 1024).toFixed(1);
  const rows = sizes.map((s) => [s.worker, kib(s.bytes), kib(s.gzipBytes)]);
  const gateway = sizes.find((s) => s.worker === "gateway");
  const goal = gateway
    ? `gateway ${kib(gateway.gzipBytes)} KiB gzip, goal ≤ ${GATEWAY_GOAL_KIB} KiB: ${gateway.gzipBytes <= GATEWAY_GOAL_KIB * 1024 ? "met" : "NOT met"}`
    : "";
  return `Bundles (wrangler deploy --dry-run --outdir)\n${table(["worker", "KiB", "KiB gzip"], rows)}\n${goal}`;
}
