import type { PolicyPublication } from "../../../../shared/contracts/org-state.ts";
import { KV_KEY, orgStateName } from "../../../../shared/contracts/storage-keys.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { compileStored, PolicyRefusal } from "./document.ts";
import { runTestCases, type TestCaseResult, type TestRun } from "./test-cases.ts";
import { type PolicyVersion, recordPublication } from "./versions.ts";

/** How many failing cases a refusal's description names; the rest are counted. */
const NAMED_FAILURES = 5;

export interface Publication {
  orgId: string;
  version: number;
  /** The version current before this one (null: the default policy). */
  previousVersion: number | null;
  /** The org's publish counter after this publication (OrgState). */
  sequence: number;
  publishedAt: Date;
  /** The test run that cleared it, when tests ran. */
  testRun?: TestRun;
}

/**
 * Makes a stored version the org's current policy (publish, rollback):
 *
 * 1. compile it again, so a gateway can (a version that no longer compiles
 *    is 409 `conflict`), and, when asked, run its tests: any failure is 422
 *    `policy_tests_failed` and nothing changes;
 * 2. write its KV snapshot (KV_KEY.policy) FIRST: from the moment the org's
 *    Durable Object names the version, a gateway may ask KV for it;
 * 3. set it current in the org's Durable Object, the strongly consistent
 *    source every gateway reads with its revocations, so every gateway
 *    switches within the revocation staleness bound (where KV has the
 *    snapshot; workers/gateway/src/policy/policy-store.ts says what happens
 *    where it does not yet);
 * 4. record the statuses in D1 (versions.ts), guarded by the object's
 *    publish counter so racing publishes leave the later one's.
 *
 * Success is reported only after all four; a failure after step 3 leaves
 * the version current with stale statuses, and repeating the call (it is
 * idempotent) records them.
 */
export async function makeCurrent(
  env: Pick<TokenEnv, "DB" | "KV" | "ORG_STATE">,
  stored: PolicyVersion,
  options: { runTests: boolean },
): Promise<Publication> {
  const { compiled } = compileStored(stored.documentJson);
  let testRun: TestRun | undefined;
  if (options.runTests) {
    if (stored.tests.length === 0) {
      throw new HttpError(
        "policy_tests_failed",
        `version ${stored.version} has no test cases: a policy is published with the tests that show what it decides`,
      );
    }
    testRun = runTestCases(compiled, stored.tests);
    if (!testRun.passed) throw testsFailed(stored.version, testRun);
  }

  await env.KV.put(KV_KEY.policy(stored.orgId, stored.version), stored.documentJson);

  const object = env.ORG_STATE.getByName(orgStateName(stored.orgId));
  const before: PolicyPublication = await object.policyPublication();
  const publication = await object.setPolicyVersion(stored.version);

  const publishedAt = new Date();
  await recordPublication(env.DB, {
    orgId: stored.orgId,
    version: stored.version,
    sequence: publication.sequence,
    at: publishedAt,
  });
  return {
    orgId: stored.orgId,
    version: stored.version,
    previousVersion: before.version,
    sequence: publication.sequence,
    publishedAt,
    ...(testRun ? { testRun } : {}),
  };
}

function testsFailed(version: number, run: TestRun): PolicyRefusal {
  const failures = run.results.filter((r) => !r.passed);
  const named = failures.slice(0, NAMED_FAILURES).map((r) => `"${r.name}" ${describeMismatches(r)}`);
  const more = failures.length > NAMED_FAILURES ? `; and ${failures.length - NAMED_FAILURES} more` : "";
  return new PolicyRefusal(
    "policy_tests_failed",
    `version ${version}: ${run.failed} of ${run.total} test cases failed: ${named.join("; ")}${more}`,
    { version, failed: run.failed, total: run.total },
  );
}

/** What a failing case got wrong, in words: `expected allow, got deny (no_matching_allow)`. */
function describeMismatches(result: TestCaseResult): string {
  const { expected, decision } = result;
  const list = (ids: readonly string[]) => (ids.length === 0 ? "none" : ids.join(" "));
  return result.mismatches
    .map((mismatch) => {
      if (mismatch === "effect") return `expected ${expected.effect}, got ${decision.effect} (${decision.reason})`;
      if (mismatch === "matched")
        return `expected rules ${list(expected.matched ?? [])}, matched ${list(decision.matched)}`;
      return `expected filter ${JSON.stringify(expected.filter)}, got ${JSON.stringify(decision.filter ?? null)}`;
    })
    .join("; ");
}
