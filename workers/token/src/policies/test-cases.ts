import type { CompiledPolicy } from "../../../../shared/policy/compile-policy.ts";
import { type Decision, decide } from "../../../../shared/policy/decide.ts";
import type { DataFilter } from "../../../../shared/policy/filter.ts";
import { invalidPolicyInput, readDecisionRequest } from "./decision-request.ts";

/** Most test cases one version carries: every publish runs them all. */
export const MAX_TEST_CASES = 500;
const MAX_NAME_LENGTH = 200;
const MAX_EXPECTED_RULES = 64;

/**
 * A policy's test case (docs/policy.md, "Tests"): a decision request and
 * what the policy must answer. `matched`, when given, is the exact set of
 * rule ids that must match; `filter`, when given, the exact filter of the
 * allow (compared as JSON values, key order aside).
 */
export interface PolicyTestCase {
  name: string;
  /** As sent: a DecisionInput in JSON (decision-request.ts). */
  request: Record<string, unknown>;
  expect: "allow" | "deny";
  matched?: string[];
  filter?: DataFilter;
}

/** A decision as the admin API shows it (what-if, test results). */
export interface DecisionView {
  id: string;
  effect: "allow" | "deny";
  reason: string;
  matched: string[];
  /** Rules whose condition raised a CEL error or whose filter could not be built: they did not allow. */
  errored: string[];
  filter?: DataFilter;
}

export interface TestCaseResult {
  name: string;
  passed: boolean;
  /** What differs from the expectation: `effect`, `matched`, `filter`. */
  mismatches: ("effect" | "matched" | "filter")[];
  expected: { effect: "allow" | "deny"; matched?: string[]; filter?: DataFilter };
  decision: DecisionView;
}

export interface TestRun {
  passed: boolean;
  total: number;
  failed: number;
  results: TestCaseResult[];
}

export function decisionView(decision: Decision): DecisionView {
  return {
    id: decision.id,
    effect: decision.effect,
    reason: decision.reason,
    matched: [...decision.matched],
    errored: [...decision.errored],
    ...(decision.effect === "allow" ? { filter: decision.filter } : {}),
  };
}

/**
 * The `tests` of a policy request body: a list of test cases, each checked
 * here (names unique, the request a well-formed decision input), so a
 * stored version's tests always run. Refusals are 400 `invalid_body` naming
 * the case and field (`tests[2].request.subject.roles`).
 */
export function readTestCases(value: unknown): PolicyTestCase[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalidPolicyInput("tests", "must be a list of test cases");
  if (value.length > MAX_TEST_CASES) invalidPolicyInput("tests", `at most ${MAX_TEST_CASES} test cases`);
  const names = new Set<string>();
  return value.map((item: unknown, i) => {
    const at = `tests[${i}]`;
    if (!isRecord(item)) invalidPolicyInput(at, "must be an object");
    for (const key of Object.keys(item)) {
      if (!["name", "request", "expect", "matched", "filter"].includes(key))
        invalidPolicyInput(`${at}.${key}`, "unknown field");
    }
    const { name, request, expect, matched, filter } = item;
    if (typeof name !== "string" || name.trim() === "" || name.length > MAX_NAME_LENGTH) {
      invalidPolicyInput(`${at}.name`, `must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`);
    }
    if (names.has(name)) invalidPolicyInput(`${at}.name`, `"${name}" names another test case too`);
    names.add(name);
    if (expect !== "allow" && expect !== "deny") invalidPolicyInput(`${at}.expect`, 'must be "allow" or "deny"');
    // Checked now, so a stored case always evaluates; stored as sent.
    readDecisionRequest(request, `${at}.request`);
    const testCase: PolicyTestCase = { name, request: request as Record<string, unknown>, expect };
    if (matched !== undefined) testCase.matched = readRuleIds(matched, `${at}.matched`);
    if (filter !== undefined) {
      if (expect !== "allow") invalidPolicyInput(`${at}.filter`, "only an expected allow carries a filter");
      if (!isRecord(filter)) invalidPolicyInput(`${at}.filter`, "must be a filter object");
      testCase.filter = filter as DataFilter;
    }
    return testCase;
  });
}

function readRuleIds(value: unknown, at: string): string[] {
  if (
    !Array.isArray(value) ||
    value.length > MAX_EXPECTED_RULES ||
    !value.every((id) => typeof id === "string" && id.length > 0 && id.length <= 128)
  ) {
    invalidPolicyInput(at, `must be a list of at most ${MAX_EXPECTED_RULES} rule ids`);
  }
  return value as string[];
}

/** Runs every case against the compiled policy; each gets its own decision id. */
export function runTestCases(policy: CompiledPolicy, cases: readonly PolicyTestCase[]): TestRun {
  const results = cases.map((testCase, i): TestCaseResult => {
    const input = readDecisionRequest(testCase.request, `tests[${i}].request`);
    const decision = decisionView(decide(policy, input, crypto.randomUUID()));
    const mismatches: TestCaseResult["mismatches"] = [];
    if (decision.effect !== testCase.expect) mismatches.push("effect");
    if (testCase.matched && !sameSet(testCase.matched, decision.matched)) mismatches.push("matched");
    if (testCase.filter && !sameJson(testCase.filter, decision.filter)) mismatches.push("filter");
    return {
      name: testCase.name,
      passed: mismatches.length === 0,
      mismatches,
      expected: {
        effect: testCase.expect,
        ...(testCase.matched ? { matched: testCase.matched } : {}),
        ...(testCase.filter ? { filter: testCase.filter } : {}),
      },
      decision,
    };
  });
  const failed = results.filter((r) => !r.passed).length;
  return { passed: failed === 0, total: results.length, failed, results };
}

function sameSet(expected: readonly string[], actual: readonly string[]): boolean {
  const a = new Set(expected);
  const b = new Set(actual);
  return a.size === b.size && [...a].every((id) => b.has(id));
}

/** JSON values equal, object key order aside (a filter is plain JSON). */
function sameJson(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]));
  }
  return a === b;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
