import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  DERIVED_SECRETS,
  derivedSecrets,
  originVars,
  SECRETS,
  WORKERS,
  type WorkerName,
} from "../../scripts/workers.mjs";
import { CliError } from "../lib/errors.ts";
import { CHECKOUT_ROOT } from "../lib/options.ts";
import { runWrangler } from "../lib/wrangler.ts";
import { generateSecret, MIGRATED_DATABASES, randomSecretNames } from "./local-state.ts";
import type { Progress } from "./progress.ts";

/** One step of a remote init: a wrangler command, and what it writes into the configs. */
export interface RemoteStep {
  title: string;
  /** The command line, as an operator would type it (secret values never appear). */
  command: string | null;
  /** Config files it writes (ids, vars). */
  writes: string[];
}

/** A `[[table]]` block of a wrangler.toml: its `key = "value"` lines. */
interface TomlBlock {
  header: string;
  start: number;
  end: number;
  values: Record<string, string>;
}

function blocks(text: string): TomlBlock[] {
  const lines = text.split("\n");
  const out: TomlBlock[] = [];
  let current: TomlBlock | undefined;
  lines.forEach((line, i) => {
    const header = /^\s*(\[\[?[\w.]+\]\]?)\s*$/.exec(line)?.[1];
    if (header) {
      if (current) current.end = i;
      current = { header, start: i, end: lines.length, values: {} };
      out.push(current);
      return;
    }
    const pair = /^\s*([\w]+)\s*=\s*"([^"]*)"/.exec(line);
    if (current && pair?.[1]) current.values[pair[1]] = pair[2] ?? "";
  });
  return out;
}

/** Sets `key = "value"` inside every block of `header` whose `match` key has `matchValue`. */
function setInBlocks(text: string, header: string, match: [string, string], key: string, value: string): string {
  const lines = text.split("\n");
  for (const block of blocks(text)) {
    if (block.header !== header || block.values[match[0]] !== match[1]) continue;
    for (let i = block.start + 1; i < block.end; i++) {
      if (new RegExp(`^\\s*${key}\\s*=`).test(lines[i] ?? "")) lines[i] = `${key} = "${value}"`;
    }
  }
  return lines.join("\n");
}

/** Sets a var already declared under `[vars]`. */
function setVar(text: string, name: string, value: string): string {
  const lines = text.split("\n");
  const vars = blocks(text).find((b) => b.header === "[vars]");
  if (!vars) return text;
  for (let i = vars.start + 1; i < vars.end; i++) {
    if (new RegExp(`^\\s*${name}\\s*=`).test(lines[i] ?? "")) lines[i] = `${name} = "${value}"`;
  }
  return lines.join("\n");
}

const configs = (): { name: WorkerName; path: string; text: string }[] =>
  (Object.keys(WORKERS) as WorkerName[]).map((name) => {
    const path = resolve(CHECKOUT_ROOT, WORKERS[name].config);
    return { name, path, text: readFileSync(path, "utf8") };
  });

/** Which configs bind a resource, read from the configs themselves (so a new binding is found, not listed here). */
function bindersOf(header: string, key: string, value: string): string[] {
  return configs()
    .filter((c) => blocks(c.text).some((b) => b.header === header && b.values[key] === value))
    .map((c) => WORKERS[c.name].config);
}

export const D1_DATABASES = ["mono-auth", "mono-auth-audit"] as const;
export const KV_NAMESPACE = { binding: "KV", title: "mono-auth" } as const;
export const QUEUES = ["mono-auth-audit", "mono-auth-audit-dlq", "mono-auth-access-webhooks"] as const;

/** The steps of `mono-auth init --url …` (remote), in order; `--dry-run` prints exactly these. */
export function remotePlan(issuer: string): RemoteStep[] {
  const allConfigs = Object.values(WORKERS).map((w) => w.config);
  return [
    ...D1_DATABASES.map((name) => ({
      title: `create the D1 database ${name}`,
      command: `npx wrangler d1 create ${name}`,
      writes: bindersOf("[[d1_databases]]", "database_name", name),
    })),
    {
      title: `create the KV namespace ${KV_NAMESPACE.title}`,
      command: `npx wrangler kv namespace create ${KV_NAMESPACE.title}`,
      writes: bindersOf("[[kv_namespaces]]", "binding", KV_NAMESPACE.binding),
    },
    ...QUEUES.map((name) => ({
      title: `create the queue ${name}`,
      command: `npx wrangler queues create ${name}`,
      writes: [],
    })),
    { title: `set the vars that follow the issuer (${issuer})`, command: null, writes: allConfigs },
    ...(Object.keys(SECRETS) as WorkerName[]).flatMap((name) =>
      SECRETS[name].map((secret) => ({
        title: `set the secret ${secret} (${DERIVED_SECRETS.includes(secret) ? "derived from GATEWAY_ASSERTION_KEY" : "generated, 32 random bytes"})`,
        command: `npx wrangler secret put ${secret} -c ${WORKERS[name].config}`,
        writes: [],
      })),
    ),
    ...MIGRATED_DATABASES.map(({ binding, config }) => ({
      title: `apply the migrations of ${binding}`,
      command: `npx wrangler d1 migrations apply ${binding} --remote -c ${config}`,
      writes: [],
    })),
  ];
}

/** The id wrangler printed for a resource it created (`database_id = "…"`, `"id": "…"`). */
function createdId(output: string, key: "database_id" | "id"): string {
  const id = new RegExp(`["']?${key}["']?\\s*[:=]\\s*["']([0-9a-fA-F-]{20,})["']`).exec(output)?.[1];
  if (!id) throw new CliError(`could not read the new ${key} from wrangler's output:\n${output.slice(-500)}`);
  return id;
}

function rewrite(path: string, change: (text: string) => string): void {
  writeFileSync(path, change(readFileSync(path, "utf8")));
}

/**
 * Runs the plan against the Cloudflare account wrangler is logged in to
 * (`wrangler login` or CLOUDFLARE_API_TOKEN). Each created id is written
 * into every config that binds the resource as soon as it exists, so a
 * failure half way leaves configs that name what was created.
 */
export async function runRemotePlan(issuer: string, progress: Progress): Promise<RemoteStep[]> {
  const plan = remotePlan(issuer);
  for (const name of D1_DATABASES) {
    progress.step(`create the D1 database ${name}`);
    const id = createdId(runWrangler(["d1", "create", name]), "database_id");
    for (const config of bindersOf("[[d1_databases]]", "database_name", name)) {
      rewrite(resolve(CHECKOUT_ROOT, config), (t) =>
        setInBlocks(t, "[[d1_databases]]", ["database_name", name], "database_id", id),
      );
    }
  }
  progress.step(`create the KV namespace ${KV_NAMESPACE.title}`);
  const kv = createdId(runWrangler(["kv", "namespace", "create", KV_NAMESPACE.title]), "id");
  for (const config of bindersOf("[[kv_namespaces]]", "binding", KV_NAMESPACE.binding)) {
    rewrite(resolve(CHECKOUT_ROOT, config), (t) =>
      setInBlocks(t, "[[kv_namespaces]]", ["binding", KV_NAMESPACE.binding], "id", kv),
    );
  }
  for (const name of QUEUES) {
    progress.step(`create the queue ${name}`);
    runWrangler(["queues", "create", name]);
  }
  progress.step("set the vars that follow the issuer");
  const vars = originVars(issuer);
  for (const config of configs()) {
    rewrite(config.path, (t) => Object.entries(vars[config.name]).reduce((text, [k, v]) => setVar(text, k, v), t));
  }
  const secrets = Object.fromEntries(randomSecretNames().map((name) => [name, generateSecret()]));
  const all = { ...secrets, ...(await derivedSecrets(secrets)) } as Record<string, string>;
  for (const name of Object.keys(SECRETS) as WorkerName[]) {
    for (const secret of SECRETS[name]) {
      progress.step(`set the secret ${secret}`);
      runWrangler(["secret", "put", secret, "-c", WORKERS[name].config], all[secret] ?? "");
    }
  }
  for (const { binding, config } of MIGRATED_DATABASES) {
    progress.step(`apply the migrations of ${binding}`);
    runWrangler(["d1", "migrations", "apply", binding, "--remote", "-c", config]);
  }
  return plan;
}
