import { resolve } from "node:path";
import type { Command } from "commander";
import { initLocal, type LocalInitResult, MIGRATED_DATABASES } from "../init/local-state.ts";
import { progressOn } from "../init/progress.ts";
import { type RemoteStep, remotePlan, runRemotePlan } from "../init/remote-plan.ts";
import { CliError } from "../lib/errors.ts";
import { CHECKOUT_ROOT, type CommonOptions, DEFAULT_URL, withCommonOptions } from "../lib/options.ts";
import { columnsTable, keyValueTable, printResult } from "../lib/output.ts";
import { saveRemote } from "../lib/profile.ts";

interface InitOptions extends CommonOptions {
  local: boolean;
  dryRun: boolean;
  persistTo: string;
  secretsFile: string;
}

function printLocal(json: boolean, result: LocalInitResult): void {
  printResult(json, result, () =>
    [
      keyValueTable([
        ["issuer", result.issuer],
        ["state", result.persist_to],
        ["secrets", `${result.secrets.file} (generated: ${result.secrets.generated.join(" ") || "none"})`],
      ]),
      "",
      columnsTable(
        ["worker", ".dev.vars", "keys added"],
        result.dev_vars.map((d) => [d.worker, d.file, d.added.join(" ") || "-"]),
      ),
      "",
      columnsTable(
        ["database", "migrations applied"],
        result.migrations.map((m) => [m.binding, m.applied.join(" ") || "none pending"]),
      ),
      "",
      "Next: npm start, then npx mono-auth operator bootstrap --email you@example.com",
    ].join("\n"),
  );
}

function printRemote(json: boolean, issuer: string, dryRun: boolean, steps: RemoteStep[], profile: string): void {
  printResult(json, { mode: "remote", dry_run: dryRun, issuer, profile, steps }, () =>
    [
      dryRun
        ? `Would run, against the account wrangler is logged in to (issuer ${issuer}):`
        : `Done (issuer ${issuer}):`,
      ...steps.map(
        (s, i) =>
          `${String(i + 1).padStart(2)}. ${s.title}${s.command ? `\n      ${s.command}` : ""}${s.writes.length ? `\n      writes: ${s.writes.join(", ")}` : ""}`,
      ),
      "",
      `Then deploy (README, "Deploy to Cloudflare"), and: npx mono-auth operator bootstrap --email you@example.com --remote`,
    ].join("\n"),
  );
}

/**
 * `mono-auth init`: the state a deployment needs before its first start.
 * `--local`: local secrets, `.dev.vars`, local migrations (cli/init/local-state.ts).
 * Otherwise, for `--url https://your.issuer`: the Cloudflare resources through
 * wrangler, their ids and the issuer's vars written into the configs, the
 * secrets set, the migrations applied (cli/init/remote-plan.ts); `--dry-run`
 * prints those steps and changes nothing.
 */
export function registerInitCommand(program: Command): void {
  withCommonOptions(
    program
      .command("init")
      .description(
        "prepare a deployment: --local for `npm start` (secrets, .dev.vars, migrations), or the Cloudflare resources, config ids, secrets and migrations for --url (use --dry-run to see the steps)",
      )
      .option("--local", "local state only (what `npm start` runs on)", false)
      .option("--dry-run", "print the remote steps and change nothing", false)
      .option(
        "--persist-to <dir>",
        "with --local: wrangler's local state directory",
        resolve(CHECKOUT_ROOT, ".wrangler/state"),
      )
      .option(
        "--secrets-file <file>",
        "with --local: where the local secrets are kept",
        resolve(CHECKOUT_ROOT, ".wrangler/dev-secrets.json"),
      ),
    // init's --remote is its default (no --local); the flag would say nothing more.
  ).action(async (options: InitOptions & { remote?: boolean }) => {
    if (options.local) {
      if (options.dryRun) throw new CliError("--dry-run is for the remote steps; --local changes only local state");
      const result = await initLocal(
        { url: options.url, persistTo: resolve(options.persistTo), secretsFile: resolve(options.secretsFile) },
        progressOn(2 + MIGRATED_DATABASES.length, options.json),
      );
      printLocal(options.json, result);
      return;
    }
    if (options.url === DEFAULT_URL) {
      throw new CliError("a deployment needs its issuer: --url https://id.example.com (or --local for npm start)");
    }
    if (!options.url.startsWith("https://")) throw new CliError("--url: a deployed issuer is an https URL");
    if (options.dryRun) {
      printRemote(options.json, options.url, true, remotePlan(options.url), options.profile);
      return;
    }
    const steps = await runRemotePlan(
      options.url,
      progressOn(remotePlan(options.url).filter((s) => s.command || s.writes.length).length, options.json),
    );
    saveRemote(options.profile, options.url);
    printRemote(options.json, options.url, false, steps, options.profile);
  });
}
