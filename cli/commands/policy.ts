import { readFileSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import { AdminApi } from "../lib/admin-api.ts";
import { CliError, ServerRefusal } from "../lib/errors.ts";
import { type CommonOptions, withCommonOptions } from "../lib/options.ts";
import { columnsTable, keyValueTable, printResult } from "../lib/output.ts";

/** A decision as the admin API shows it (workers/token/src/policies/test-cases.ts). */
interface Decision {
  id: string;
  effect: "allow" | "deny";
  reason: string;
  matched: string[];
  errored?: string[];
  filter?: unknown;
}

interface TestRun {
  org_id: string;
  version: number | null;
  passed: boolean;
  total: number;
  failed: number;
  results: { name: string; passed: boolean; mismatches: string[]; expected: { effect: string }; decision: Decision }[];
}

interface VersionSummary {
  version: number;
  status: string;
  current: boolean;
  test_count: number;
  created_by: string;
  created_at: string;
  published_at: string | null;
}

interface Version extends VersionSummary {
  org_id: string;
  rule_count: number;
  document: unknown;
  tests: unknown[];
}

interface Publication {
  org_id: string;
  version: number;
  previous_version: number | null;
  publish_seq: number;
  published_at: string;
  tests?: { total: number; passed: boolean };
}

interface OrgOptions extends CommonOptions {
  org: string;
}

/**
 * A policy file (`--file`): the policy document with its test cases beside
 * its rules, `{ "format": 2, "rules": [...], "tests": [...] }`, or the
 * admin API's own body, `{ "document": {...}, "tests": [...] }`.
 */
function readPolicyFile(path: string): { document: unknown; tests: unknown } {
  const file = readJson(path, "--file");
  if (typeof file !== "object" || file === null || Array.isArray(file)) {
    throw new CliError(`--file: ${path} must hold a JSON object (a policy document with its tests)`);
  }
  if ("document" in file) {
    const { document, tests } = file as { document: unknown; tests?: unknown };
    return { document, tests: tests ?? [] };
  }
  const { tests, ...document } = file as Record<string, unknown>;
  return { document, tests: tests ?? [] };
}

function readJson(path: string, flag: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new CliError(`${flag}: cannot read ${path} as JSON (${error instanceof Error ? error.message : error})`);
  }
}

function parseVersion(value: string): number {
  const version = Number(value);
  if (!/^[1-9]\d{0,8}$/.test(value)) throw new InvalidArgumentError("A version is a positive whole number.");
  return version;
}

const policiesPath = (org: string) => `/orgs/${encodeURIComponent(org)}/policies`;

function decisionRows(decision: Decision): [string, string][] {
  return [
    ["effect", decision.effect],
    ["reason", decision.reason],
    ["matched", decision.matched.join(" ") || "-"],
    ...(decision.errored?.length ? ([["errored", decision.errored.join(" ")]] as [string, string][]) : []),
    ...(decision.filter !== undefined ? ([["filter", JSON.stringify(decision.filter)]] as [string, string][]) : []),
    ["decision_id", decision.id],
  ];
}

/** Prints a test run, then fails the command (exit 1) when a case failed. */
function reportTestRun(json: boolean, run: TestRun): void {
  printResult(json, run, () =>
    [
      columnsTable(
        ["result", "name", "expected", "decision", "reason", "matched"],
        run.results.map((r) => [
          r.passed ? "PASS" : `FAIL (${r.mismatches.join(", ")})`,
          r.name,
          r.expected.effect,
          r.decision.effect,
          r.decision.reason,
          r.decision.matched.join(" ") || "-",
        ]),
      ),
      "",
      `${run.total - run.failed} of ${run.total} test cases passed`,
    ].join("\n"),
  );
  if (!run.passed) throw new CliError(`${run.failed} of ${run.total} test cases failed`);
}

function printPublication(json: boolean, publication: Publication): void {
  printResult(json, publication, () =>
    keyValueTable([
      ["org_id", publication.org_id],
      ["version", publication.version],
      ["previous_version", publication.previous_version ?? "(default policy)"],
      ["publish_seq", publication.publish_seq],
      ["published_at", publication.published_at],
      ["tests", publication.tests ? `${publication.tests.total} passed` : "not run"],
    ]),
  );
}

export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command("policy")
    .description("an organization's authorization policy: versions, tests, what-if, publish, rollback");

  withCommonOptions(
    policy
      .command("validate")
      .description("check a policy file (document and tests) without saving it")
      .requiredOption("--org <org>", "the organization's id")
      .requiredOption("--file <file>", "the policy file: the document with its tests"),
  ).action(async (options: OrgOptions & { file: string }) => {
    const result = await new AdminApi(options).request<{ valid: boolean; rule_count: number; test_count: number }>(
      "POST",
      `${policiesPath(options.org)}/validate`,
      readPolicyFile(options.file),
    );
    printResult(options.json, result, () => `valid: ${result.rule_count} rules, ${result.test_count} test cases`);
  });

  withCommonOptions(
    policy
      .command("test")
      .description("run a policy's test cases (a file, unsaved, or a stored version); exit 1 if any fails")
      .requiredOption("--org <org>", "the organization's id")
      .option("--file <file>", "the policy file: the document with its tests")
      .option("--version <n>", "a stored version", parseVersion),
  ).action(async (options: OrgOptions & { file?: string; version?: number }) => {
    if ((options.file === undefined) === (options.version === undefined)) {
      throw new CliError("give exactly one of --file <file> and --version <n>");
    }
    const api = new AdminApi(options);
    const run =
      options.version !== undefined
        ? await api.request<TestRun>("POST", `${policiesPath(options.org)}/${options.version}/test`)
        : await api.request<TestRun>("POST", `${policiesPath(options.org)}/test`, readPolicyFile(options.file ?? ""));
    reportTestRun(options.json, run);
  });

  withCommonOptions(
    policy
      .command("what-if")
      .description("decide a request against the current policy, a stored version or a policy file")
      .requiredOption("--org <org>", "the organization's id")
      .requiredOption("--request <file>", "the decision request: { subject, actor?, resource, action, context }")
      .option("--version <n>", "a stored version instead of the current one", parseVersion)
      .option("--file <file>", "a policy file instead of the current policy"),
  ).action(async (options: OrgOptions & { request: string; version?: number; file?: string }) => {
    if (options.version !== undefined && options.file !== undefined) {
      throw new CliError("give at most one of --version <n> and --file <file>");
    }
    const result = await new AdminApi(options).request<{ source: string; version: number | null; decision: Decision }>(
      "POST",
      `${policiesPath(options.org)}/what-if`,
      {
        request: readJson(options.request, "--request"),
        ...(options.version !== undefined ? { version: options.version } : {}),
        ...(options.file !== undefined ? { document: readPolicyFile(options.file).document } : {}),
      },
    );
    printResult(options.json, result, () =>
      keyValueTable([
        ["policy", result.version === null ? result.source : `${result.source} v${result.version}`],
        ...decisionRows(result.decision),
      ]),
    );
  });

  withCommonOptions(
    policy
      .command("publish")
      .description("publish a policy file (saved as a new version first) or a stored version; its tests run first")
      .requiredOption("--org <org>", "the organization's id")
      .option("--file <file>", "the policy file: the document with its tests")
      .option("--version <n>", "a stored version", parseVersion),
  ).action(async (options: OrgOptions & { file?: string; version?: number }) => {
    if ((options.file === undefined) === (options.version === undefined)) {
      throw new CliError("give exactly one of --file <file> and --version <n>");
    }
    const api = new AdminApi(options);
    let version = options.version;
    if (version === undefined) {
      const saved = await api.request<Version>("POST", policiesPath(options.org), readPolicyFile(options.file ?? ""));
      version = saved.version;
    }
    try {
      printPublication(
        options.json,
        await api.request<Publication>("POST", `${policiesPath(options.org)}/${version}/publish`),
      );
    } catch (error) {
      if (options.file !== undefined && error instanceof ServerRefusal) {
        throw new CliError(`saved as version ${version}, not published: ${error.message}`);
      }
      throw error;
    }
  });

  withCommonOptions(
    policy
      .command("rollback")
      .description("make a version that was published before current again")
      .requiredOption("--org <org>", "the organization's id")
      .requiredOption("--version <n>", "the version to return to", parseVersion)
      .option("--run-tests", "run its test cases first (they passed when it was published)", false),
  ).action(async (options: OrgOptions & { version: number; runTests: boolean }) => {
    const publication = await new AdminApi(options).request<Publication>(
      "POST",
      `${policiesPath(options.org)}/${options.version}/rollback`,
      options.runTests ? { run_tests: true } : undefined,
    );
    printPublication(options.json, publication);
  });

  withCommonOptions(
    policy
      .command("show")
      .description("show the current policy (the default one if none is published) or a stored version")
      .requiredOption("--org <org>", "the organization's id")
      .option("--version <n>", "a stored version", parseVersion),
  ).action(async (options: OrgOptions & { version?: number }) => {
    const shown = await new AdminApi(options).request<Partial<Version> & { version: number | null; document: unknown }>(
      "GET",
      `${policiesPath(options.org)}/${options.version ?? "current"}`,
    );
    printResult(options.json, shown, () =>
      [
        keyValueTable([
          ["version", shown.version ?? "(none published: the default policy)"],
          ["status", shown.status],
          ["current", shown.current === undefined ? "yes" : shown.current ? "yes" : "no"],
          ["published_at", shown.published_at],
          ["test_count", shown.test_count],
        ]),
        "",
        JSON.stringify(shown.document, null, 2),
      ].join("\n"),
    );
  });

  withCommonOptions(
    policy
      .command("list")
      .description("list an organization's policy versions, newest first")
      .requiredOption("--org <org>", "the organization's id"),
  ).action(async (options: OrgOptions) => {
    const listed = await new AdminApi(options).request<{ current_version: number | null; versions: VersionSummary[] }>(
      "GET",
      policiesPath(options.org),
    );
    printResult(options.json, listed, () =>
      columnsTable(
        ["version", "status", "current", "tests", "created_by", "created_at", "published_at"],
        listed.versions.map((v) => [
          String(v.version),
          v.status,
          v.current ? "yes" : "",
          String(v.test_count),
          v.created_by,
          v.created_at,
          v.published_at ?? "-",
        ]),
      ),
    );
  });
}
