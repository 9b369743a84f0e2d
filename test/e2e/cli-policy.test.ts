// `mono-auth policy …` as an operator runs it: the real binary (cli/mono-auth.mjs)
// as a child process against the whole system served locally, each command's
// `--json` document parsed, failures with a non-zero exit and the reason on
// stderr. The operator is bootstrapped as in cli.test.ts (its SQL applied
// through the harness's D1 binding).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { type CliRun as Run, runCli } from "../support/mono-auth-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let dir: string;
let profile: string;
let orgId: string;

function cli(...args: string[]): Promise<Run> {
  return runCli([...args, "--url", system.origin, "--profile", profile], { cwd: dir });
}

async function json<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const result = await cli(...args, "--json");
  expect(result.stderr, result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

async function refused(result: Run | Promise<Run>, message: RegExp): Promise<Run> {
  const run = await result;
  expect(run.code).not.toBe(0);
  expect(run.stderr).toMatch(message);
  return run;
}

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

const READ_REQUEST = {
  subject: { id: "user-1", org_id: "org-1", roles: ["member"], scope: ["documents:read"] },
  resource: { type: "documents" },
  action: "read",
  context: { method: "GET", path: ENDPOINT.documents },
};

/** A policy file: the document with its test cases beside its rules. */
const ORG_WIDE_FILE = {
  format: 2,
  rules: [
    {
      id: "org-wide-read",
      effect: "allow",
      resource: "documents",
      actions: ["read"],
      when: '"documents:read" in subject.scope',
      filter: { org_id: { attr: "subject.org_id" } },
    },
  ],
  tests: [
    { name: "members read", request: READ_REQUEST, expect: "allow", matched: ["org-wide-read"] },
    {
      name: "no scope, no read",
      request: { ...READ_REQUEST, subject: { ...READ_REQUEST.subject, scope: [] } },
      expect: "deny",
    },
  ],
};

beforeAll(async () => {
  system = await startSystem();
  dir = mkdtempSync(join(tmpdir(), "mono-auth-cli-policy-"));
  profile = join(dir, "profile.json");
  const sql = join(dir, "operator.sql");
  await json("operator", "bootstrap", "--email", "policy-ops@example.com", "--sql-out", sql);
  for (const statement of readFileSync(sql, "utf8")
    .split(";\n")
    .filter((s) => s.trim())) {
    await system.execMain(statement);
  }
  orgId = (await json<{ id: string }>("org", "create", "--name", "Policy CLI")).id;
});
afterAll(() => system?.close());

describe("mono-auth policy", () => {
  it("lists every verb's flags in --help", async () => {
    const flags: Record<string, string[]> = {
      validate: ["--org", "--file"],
      test: ["--org", "--file", "--version"],
      "what-if": ["--org", "--request", "--version", "--file"],
      publish: ["--org", "--file", "--version"],
      rollback: ["--org", "--version", "--run-tests"],
      show: ["--org", "--version"],
      list: ["--org"],
    };
    for (const [verb, expected] of Object.entries(flags)) {
      const help = await runCli(["policy", verb, "--help"]);
      expect(help.code, verb).toBe(0);
      for (const flag of [...expected, "--url", "--json"]) expect(help.stdout, verb).toContain(flag);
    }
  });

  it("show: the default policy before any publish", async () => {
    const shown = await json<{ version: null; source: string; document: { format: number } }>(
      "policy",
      "show",
      "--org",
      orgId,
    );
    expect(shown).toMatchObject({ version: null, source: "default", document: { format: 2 } });
  });

  it("validate and test a file without saving it; a failing case exits 1 and says how many failed", async () => {
    const policy = file("org-wide.json", ORG_WIDE_FILE);
    expect(await json("policy", "validate", "--org", orgId, "--file", policy)).toEqual({
      valid: true,
      rule_count: 1,
      test_count: 2,
    });
    expect(await json("policy", "test", "--org", orgId, "--file", policy)).toMatchObject({
      passed: true,
      total: 2,
      failed: 0,
    });
    const wrong = file("wrong.json", {
      ...ORG_WIDE_FILE,
      tests: [{ ...ORG_WIDE_FILE.tests[0], expect: "deny" }],
    });
    const run = await refused(cli("policy", "test", "--org", orgId, "--file", wrong), /1 of 1 test cases failed/);
    expect(run.stdout).toMatch(/FAIL \(effect\) +members read +deny +allow/);
    const broken = file("broken.json", { ...ORG_WIDE_FILE, rules: [{ ...ORG_WIDE_FILE.rules[0], when: "subject." }] });
    await refused(
      cli("policy", "validate", "--org", orgId, "--file", broken),
      /400 invalid_body\): document: \$\.rules\[0\]\.when: .*\(ERR_POLICY_SYNTAX\)/,
    );
    expect(await json<{ versions: unknown[] }>("policy", "list", "--org", orgId)).toMatchObject({ versions: [] });
  });

  it("publish a file (saved, tested, published), then what-if and show it", async () => {
    const published = await json<{ version: number; previous_version: null; tests: { total: number } }>(
      "policy",
      "publish",
      "--org",
      orgId,
      "--file",
      file("publish.json", ORG_WIDE_FILE),
    );
    expect(published).toMatchObject({ version: 1, previous_version: null, tests: { total: 2, passed: true } });

    const request = file("request.json", READ_REQUEST);
    const whatIf = await json<{ source: string; version: number; decision: Record<string, unknown> }>(
      "policy",
      "what-if",
      "--org",
      orgId,
      "--request",
      request,
    );
    expect(whatIf).toMatchObject({
      source: "current",
      version: 1,
      decision: { effect: "allow", matched: ["org-wide-read"], filter: { org_id: "org-1" } },
    });
    const table = await cli("policy", "what-if", "--org", orgId, "--request", request);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^effect +allow$/m);

    const shown = await json<{ version: number; status: string; current: boolean }>("policy", "show", "--org", orgId);
    expect(shown).toMatchObject({ version: 1, status: "published", current: true, source: "published" });
    expect(await json("policy", "show", "--org", orgId, "--version", "1")).toMatchObject({ version: 1 });
  });

  it("refuses to publish a file whose tests fail, saying which version holds it and why", async () => {
    const failing = file("failing.json", { format: 2, rules: [], tests: [ORG_WIDE_FILE.tests[0]] });
    await refused(
      cli("policy", "publish", "--org", orgId, "--file", failing),
      /saved as version 2, not published: .*422 policy_tests_failed.*"members read" expected allow, got deny/,
    );
    expect(await json<{ version: number }>("policy", "show", "--org", orgId)).toMatchObject({ version: 1 });
    expect(await json("policy", "test", "--org", orgId, "--version", "1")).toMatchObject({ passed: true });
    await refused(cli("policy", "test", "--org", orgId, "--version", "2"), /1 of 1 test cases failed/);
  });

  it("publish a stored version, then roll back to the one before", async () => {
    const denyFile = file("deny.json", {
      format: 2,
      rules: [],
      tests: [{ name: "nobody reads", request: READ_REQUEST, expect: "deny" }],
    });
    const second = await json<{ version: number; previous_version: number }>(
      "policy",
      "publish",
      "--org",
      orgId,
      "--file",
      denyFile,
    );
    expect(second).toMatchObject({ version: 3, previous_version: 1 });
    const back = await json("policy", "rollback", "--org", orgId, "--version", "1", "--run-tests");
    expect(back).toMatchObject({ version: 1, previous_version: 3, tests: { total: 2, passed: true } });
    expect(await json("policy", "publish", "--org", orgId, "--version", "3")).toMatchObject({ version: 3 });
    const listed = await json<{ current_version: number; versions: { version: number; status: string }[] }>(
      "policy",
      "list",
      "--org",
      orgId,
    );
    expect(listed.current_version).toBe(3);
    expect(listed.versions.map((v) => [v.version, v.status])).toEqual([
      [3, "published"],
      [2, "draft"],
      [1, "superseded"],
    ]);
    await refused(
      cli("policy", "rollback", "--org", orgId, "--version", "2"),
      /409 conflict\): version 2 was never published/,
    );
  });

  it("refuses bad input with a non-zero exit and a clear message", async () => {
    await refused(cli("policy", "test", "--org", orgId), /exactly one of --file <file> and --version <n>/);
    await refused(
      cli("policy", "publish", "--org", orgId, "--file", "x.json", "--version", "1"),
      /exactly one of --file <file> and --version <n>/,
    );
    await refused(cli("policy", "show", "--org", orgId, "--version", "0"), /positive whole number/);
    await refused(
      cli("policy", "validate", "--org", orgId, "--file", join(dir, "missing.json")),
      /--file: cannot read/,
    );
    await refused(cli("policy", "show", "--org", orgId, "--version", "99"), /404 not_found/);
    await refused(cli("policy", "show", "--org", "no-such-org"), /404 not_found/);
    await refused(cli("policy", "rollback", "--org", orgId), /required option '--version <n>'/);
  });
});
