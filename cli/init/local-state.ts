import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import {
  DERIVED_SECRETS,
  derivedSecrets,
  originVars,
  SECRETS,
  WORKERS,
  type WorkerName,
} from "../../scripts/workers.mjs";
import {
  applyLocalMigrations,
  type LocalDatabase,
  LOCAL_DATABASES,
  LocalMigrationError,
} from "../../scripts/local-migrations.mjs";
import { CliError } from "../lib/errors.ts";
import { CHECKOUT_ROOT } from "../lib/options.ts";
import { writePrivateFile } from "../lib/private-file.ts";
import type { Progress } from "./progress.ts";

/** The D1 databases and the config that binds each; one list with `npm start`'s (the remote plan migrates the same). */
export const MIGRATED_DATABASES: readonly LocalDatabase[] = LOCAL_DATABASES;

/** Every secret the Workers need that is random (the derived ones are computed from these). */
export function randomSecretNames(): string[] {
  return [...new Set(Object.values(SECRETS).flat())].filter((name) => !DERIVED_SECRETS.includes(name));
}

export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}

export interface LocalInitOptions {
  /** The issuer the local system serves as (its origin). */
  url: string;
  /** wrangler's local state directory (`npm start` uses .wrangler/state). */
  persistTo: string;
  /** Where local secrets are kept (`npm start` uses .wrangler/dev-secrets.json). */
  secretsFile: string;
}

export interface LocalInitResult {
  mode: "local";
  issuer: string;
  persist_to: string;
  /** Names only: secret values are never printed. */
  secrets: { file: string; generated: string[]; kept: string[] };
  /** Per Worker, the keys written (missing ones, and derived ones that no longer matched); names only. */
  dev_vars: { worker: string; file: string; added: string[] }[];
  migrations: { binding: string; config: string; applied: string[] }[];
}

function readSecrets(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
  } catch {
    throw new CliError(`${file} is not JSON; move it away and run \`mono-auth init --local\` again`);
  }
}

/** A `.dev.vars` file's `KEY=value` lines (none when it is missing). */
function readDevVars(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const values: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const at = line.indexOf("=");
    if (at > 0 && !line.startsWith("#")) values[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  return values;
}

/**
 * `mono-auth init --local`: what `npm start` needs and nothing more. Local
 * secrets are generated once (existing ones kept); each Worker's `.dev.vars`
 * gets the keys it is missing (a value already there is kept, except a
 * derived one that no longer matches its source); pending D1 migrations are
 * applied to the local state of both databases. No operator, org or client
 * is created.
 */
export async function initLocal(options: LocalInitOptions, progress: Progress): Promise<LocalInitResult> {
  progress.step("local secrets");
  const secrets = readSecrets(options.secretsFile);
  const needed = randomSecretNames();
  const generated = needed.filter((name) => !secrets[name]);
  for (const name of generated) secrets[name] = generateSecret();
  if (generated.length > 0) {
    writePrivateFile(options.secretsFile, JSON.stringify(secrets, null, 2));
  }

  progress.step("each Worker's .dev.vars");
  const vars = originVars(options.url);
  const files = (Object.keys(WORKERS) as WorkerName[]).map((name) => {
    const file = resolve(CHECKOUT_ROOT, dirname(WORKERS[name].config), ".dev.vars");
    return { name, file, existing: readDevVars(file) };
  });
  // A value already in a .dev.vars is kept; derived ones follow what the Workers will really use.
  const effective: Record<string, string> = { ...secrets };
  for (const { name, existing } of files) {
    for (const secret of SECRETS[name]) if (existing[secret]) effective[secret] = existing[secret];
  }
  const derived = (await derivedSecrets(effective)) as Record<string, string>;
  const devVars: LocalInitResult["dev_vars"] = [];
  for (const { name, file, existing } of files) {
    const wanted: Record<string, string> = { ...vars[name] };
    for (const secret of SECRETS[name]) wanted[secret] = derived[secret] ?? effective[secret] ?? "";
    if (Object.keys(wanted).length === 0) continue;
    const added = Object.keys(wanted).filter((key) => existing[key] === undefined);
    const stale = DERIVED_SECRETS.filter(
      (key) => key in wanted && existing[key] !== undefined && existing[key] !== wanted[key],
    );
    if (added.length > 0 || stale.length > 0) {
      const merged = {
        ...existing,
        ...Object.fromEntries([...added, ...stale].map((key) => [key, wanted[key] ?? ""])),
      };
      const text = `${Object.entries(merged)
        .map(([k, v]) => `${k}=${v}`)
        .join("\n")}\n`;
      writePrivateFile(file, text);
    }
    devVars.push({ worker: name, file, added: [...added, ...stale] });
  }

  // Both databases in one wrangler platform proxy instead of a wrangler run each
  // (scripts/local-migrations.mjs says why); wrangler's own files and bookkeeping.
  let migrations: LocalInitResult["migrations"];
  try {
    migrations = await applyLocalMigrations(options.persistTo, {
      databases: MIGRATED_DATABASES,
      root: CHECKOUT_ROOT,
      onDatabase: (binding) => progress.step(`migrations of ${binding}`),
    });
  } catch (error) {
    if (error instanceof LocalMigrationError) throw new CliError(error.message);
    // wrangler's own (a config it cannot read, a runtime that would not start).
    throw new CliError(`local D1 migrations failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return {
    mode: "local",
    issuer: options.url,
    persist_to: options.persistTo,
    secrets: { file: options.secretsFile, generated, kept: needed.filter((n) => !generated.includes(n)) },
    dev_vars: devVars,
    migrations,
  };
}
