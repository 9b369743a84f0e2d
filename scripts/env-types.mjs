// Generates (or with --check, verifies) each Worker's Env type with
// `wrangler types`. One file per Worker, env only: the runtime types come from
// @cloudflare/workers-types, and each Worker's tsconfig includes only its own.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { WORKERS } from "./workers.mjs";

// wrangler's own script on this Node (npm scripts run the 22 wrangler needs):
// `npx wrangler` started npm's CLI first, a Node process per Worker that only
// found this path (`npm test` runs the check beside the tests, on their cores).
const WRANGLER = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));

const check = process.argv.includes("--check");

let failed = false;
for (const [name, worker] of Object.entries(WORKERS)) {
  const out = `workers/${worker.dir ?? name}/worker-configuration.d.ts`;
  const args = [
    WRANGLER,
    "types",
    out,
    "--include-runtime=false",
    // Types must not depend on local state: `npm start` writes .dev.vars
    // (secrets, the local origin), which wrangler would otherwise read.
    "--env-file",
    "/dev/null",
    `--env-interface=${worker.envInterface}`,
    "-c",
    worker.config,
    ...worker.typesWith.flatMap((n) => ["-c", WORKERS[n].config]),
  ];
  if (check) args.push("--check");
  const result = spawnSync(process.execPath, args, {
    stdio: check ? "pipe" : "inherit",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  if (result.status !== 0) {
    failed = true;
    console.error(`${out} is out of date: run \`npm run types\`\n${result.stdout ?? ""}${result.stderr ?? ""}`);
  }
}
process.exit(failed ? 1 : 0);
