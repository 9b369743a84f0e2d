/**
 * How the policy admin API (policies.ts) shows versions, test runs and
 * publications: snake_case JSON, times as ISO 8601 (docs/endpoints.md).
 */
import type { Publication } from "../policies/publish.ts";
import type { TestRun } from "../policies/test-cases.ts";
import type { PolicyVersion, PolicyVersionSummary } from "../policies/versions.ts";

/** A version in a list: no document, no tests. `current` is the version the org's object records. */
export function summaryView(v: PolicyVersionSummary, current: number | null) {
  return {
    org_id: v.orgId,
    version: v.version,
    status: v.status,
    current: v.version === current,
    test_count: v.testCount,
    created_by: v.createdBy,
    created_at: v.createdAt.toISOString(),
    published_at: v.publishedAt?.toISOString() ?? null,
  };
}

/** One version with its document and tests, as the admin API answers it. */
export function policyVersionView(v: PolicyVersion, current: number | null) {
  const document = JSON.parse(v.documentJson) as { rules?: unknown };
  return {
    ...summaryView({ ...v, testCount: v.tests.length }, current),
    rule_count: Array.isArray(document.rules) ? document.rules.length : 0,
    document,
    tests: v.tests,
  };
}

export function testRunView(orgId: string, version: number | null, run: TestRun) {
  return { org_id: orgId, version, ...run };
}

export function publicationView(p: Publication) {
  return {
    org_id: p.orgId,
    version: p.version,
    status: "published",
    previous_version: p.previousVersion,
    publish_seq: p.sequence,
    published_at: p.publishedAt.toISOString(),
    ...(p.testRun ? { tests: { total: p.testRun.total, passed: p.testRun.passed } } : {}),
  };
}
