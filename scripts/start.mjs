// `npm start`: the whole system on one origin, as on Cloudflare.
//   1. dev secrets, generated once and kept under .wrangler/ (never committed);
//   2. pending D1 migrations applied to the local databases (main and audit);
//   3. `wrangler dev` with the gateway first (the one origin) and the token,
//      authn and demo Workers behind it, all sharing .wrangler/state.
// PORT changes the port (default 8787); the issuer follows it.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { applyLocalMigrations, LocalMigrationError } from "./local-migrations.mjs";
import { writePrivateFile } from "./private-file.mjs";
import { DERIVED_SECRETS, derivedSecrets, originVars, SECRETS, SYSTEM_CONFIGS, WORKERS } from "./workers.mjs";

const ROOT = resolve(import.meta.dirname, "..");
const STATE = resolve(ROOT, ".wrangler/state");
const port = Number(process.env.PORT ?? 8787);
const origin = `http://localhost:${port}`;
const migrateOnly = process.argv.includes("--migrate-only");

const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `Node ${process.versions.node} is too old; run through npm (npm start), which uses the project's Node 22.`,
  );
  process.exit(1);
}

const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

/** Secrets for local runs only; a deployment sets its own with `wrangler secret put`. */
function devSecrets() {
  const file = resolve(ROOT, ".wrangler/dev-secrets.json");
  const secrets = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  const needed = [...new Set(Object.values(SECRETS).flat())].filter((name) => !DERIVED_SECRETS.includes(name));
  const missing = needed.filter((name) => !secrets[name]);
  if (missing.length === 0) return secrets;
  // A secret added since the last start is generated; existing ones are kept.
  for (const name of missing) secrets[name] = randomBytes(32).toString("base64url");
  writePrivateFile(file, JSON.stringify(secrets, null, 2));
  return secrets;
}

/**
 * wrangler dev reads a `.dev.vars` beside each config (--env-file reaches only
 * the first Worker), so each Worker gets its own: its secrets and the vars
 * that follow the origin. They are gitignored and rewritten on every start.
 */
function writeDevVars(config, values) {
  const file = resolve(ROOT, dirname(config), ".dev.vars");
  writePrivateFile(
    file,
    Object.entries(values)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n") + "\n",
  );
}

const secrets = devSecrets();
Object.assign(secrets, await derivedSecrets(secrets));
const vars = originVars(origin);
for (const [name, worker] of Object.entries(WORKERS)) {
  const values = { ...vars[name] };
  for (const secret of SECRETS[name]) values[secret] = secrets[secret];
  if (Object.keys(values).length > 0) writeDevVars(worker.config, values);
}

// Every start: the main database through the gateway's config, the audit
// database through the token Worker's (the only one that binds it), in one
// wrangler platform proxy rather than a `wrangler d1 migrations apply` (one
// runtime boot per migration file) each; local-migrations.mjs says how it
// stays wrangler's own bookkeeping.
try {
  for (const { binding, applied } of await applyLocalMigrations(STATE)) {
    console.log(
      applied.length === 0
        ? `${binding}: no migrations to apply`
        : `${binding}: applied ${applied.length} migration(s): ${applied.join(", ")}`,
    );
  }
} catch (error) {
  console.error(error instanceof LocalMigrationError ? error.message : error);
  process.exit(1);
}
if (migrateOnly) process.exit(0);

const args = ["wrangler", "dev", ...SYSTEM_CONFIGS.flatMap((c) => ["-c", c])];
args.push("--port", String(port), "--persist-to", STATE, "--show-interactive-dev-session=false");
console.log(`\nMono-Auth on ${origin}  (sign up at ${origin}/sign-up)\n`);
const dev = spawn("npx", args, { cwd: ROOT, env, stdio: "inherit", detached: true });
const stop = () => {
  try {
    process.kill(-dev.pid, "SIGTERM");
  } catch {
    // already gone
  }
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
dev.on("exit", (code) => process.exit(code ?? 0));
