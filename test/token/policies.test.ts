import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { compilePolicy } from "../../shared/policy/compile-policy.ts";
import { PolicyError } from "../../shared/policy/errors.ts";
import { DEFAULT_POLICY } from "../../shared/policy/default-policy.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import {
  createVersion,
  DENY_ALL,
  INTERN_REQUEST,
  MEMBER_REQUEST,
  MEMBERS_READ,
  MEMBERS_READ_TESTS,
  type VersionBody,
} from "./policies-fixtures.ts";

// The policy lifecycle's admin API (workers/token/src/admin/policies.ts):
// drafts, validation, tests, what-if, show and list, in the runtime, with
// the real D1 and the org's real Durable Object. Publishing and rollback:
// policies-publish.test.ts.

let token: string;
beforeAll(async () => {
  token = await adminToken();
});

function post(orgId: string, suffix: string, body?: unknown) {
  return adminRequest("POST", `/orgs/${orgId}/policies${suffix}`, { token, body });
}

function get(orgId: string, suffix = "") {
  return adminRequest("GET", `/orgs/${orgId}/policies${suffix}`, { token });
}

/** What compilePolicy itself says about a document: the code and path the API must name. */
function pdpError(document: unknown): { code: string; path: string } {
  try {
    compilePolicy(document);
  } catch (error) {
    if (error instanceof PolicyError) return { code: error.code, path: error.path };
    throw error;
  }
  throw new Error("the document compiles");
}

const INVALID_DOCUMENTS: [string, unknown][] = [
  ["an older format", { format: 1, rules: [] }],
  ["not an object", ["rules"]],
  ["a condition that is not CEL", { format: 2, rules: [{ ...MEMBERS_READ.rules[1], when: '"intern" in (' }] }],
  ["an attribute the language lacks", { format: 2, rules: [{ ...MEMBERS_READ.rules[1], when: "subject.salary > 3" }] }],
  ["a condition that is not a bool", { format: 2, rules: [{ ...MEMBERS_READ.rules[1], when: "subject.roles" }] }],
  ["two rules with one id", { format: 2, rules: [MEMBERS_READ.rules[0], MEMBERS_READ.rules[0]] }],
  ["a filter on a deny rule", { format: 2, rules: [{ ...MEMBERS_READ.rules[1], filter: { org_id: "o" } }] }],
];

describe("policy drafts", () => {
  it("saves each document as the org's next draft version, with its tests, and shows it", async () => {
    const orgId = await createTestOrg();
    const first = await createVersion(token, orgId);
    expect(first).toMatchObject({
      org_id: orgId,
      version: 1,
      status: "draft",
      current: false,
      rule_count: 2,
      test_count: 2,
      published_at: null,
      document: MEMBERS_READ,
      tests: MEMBERS_READ_TESTS,
    });
    expect(first.created_by).toEqual(expect.any(String));
    const second = await createVersion(token, orgId, DENY_ALL, []);
    expect(second).toMatchObject({ version: 2, status: "draft", rule_count: 0, test_count: 0 });

    const shown = await get(orgId, "/1");
    expect(shown.status).toBe(200);
    expect(await shown.json()).toEqual(first);
  });

  it("numbers concurrent saves 1..n, none twice", async () => {
    const orgId = await createTestOrg();
    const saved = await Promise.all(Array.from({ length: 20 }, () => createVersion(token, orgId)));
    expect(saved.map((v) => v.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it.each(INVALID_DOCUMENTS)("refuses %s: 400 invalid_body naming the PDP's code and path", async (_what, document) => {
    const orgId = await createTestOrg();
    const expected = pdpError(document);
    const body = await expectHttpError(await post(orgId, "", { document, tests: [] }), 400, "invalid_body");
    expect(body).toMatchObject({ policy_error: expected.code, path: expected.path });
    expect(body.error_description).toContain(expected.code);
    expect(body.error_description).toContain(expected.path);
    expect(await versionsOf(orgId)).toEqual([]);
  });

  it("refuses a body that is not a draft: 400 invalid_body naming the field", async () => {
    const orgId = await createTestOrg();
    const cases: [unknown, RegExp][] = [
      [{ tests: [] }, /^document: required/],
      [{ document: MEMBERS_READ, note: "x" }, /^note: unknown field/],
      [{ document: MEMBERS_READ, tests: {} }, /^tests: must be a list/],
      [{ document: MEMBERS_READ, tests: [{ ...MEMBERS_READ_TESTS[0], expect: "maybe" }] }, /^tests\[0\]\.expect:/],
      [{ document: MEMBERS_READ, tests: [MEMBERS_READ_TESTS[0], MEMBERS_READ_TESTS[0]] }, /^tests\[1\]\.name:/],
      [{ document: MEMBERS_READ, tests: [{ ...MEMBERS_READ_TESTS[0], why: "x" }] }, /^tests\[0\]\.why: unknown field/],
      [
        { document: MEMBERS_READ, tests: [{ ...MEMBERS_READ_TESTS[1], filter: { org_id: "org-1" } }] },
        /^tests\[0\]\.filter: only an expected allow/,
      ],
      [
        {
          document: MEMBERS_READ,
          tests: [
            { ...MEMBERS_READ_TESTS[0], request: { ...MEMBER_REQUEST, subject: { id: "u", org_id: "o", scopes: [] } } },
          ],
        },
        /^tests\[0\]\.request\.subject\.scopes: unknown attribute/,
      ],
      [
        { document: MEMBERS_READ, tests: [{ ...MEMBERS_READ_TESTS[0], request: { ...MEMBER_REQUEST, action: 7 } }] },
        /^tests\[0\]\.request\.action: must be a string/,
      ],
      [
        {
          document: MEMBERS_READ,
          tests: [
            { ...MEMBERS_READ_TESTS[0], request: { ...MEMBER_REQUEST, context: { method: "GET", time: "yesterday" } } },
          ],
        },
        /^tests\[0\]\.request\.context\.time: must be an RFC 3339 date-time/,
      ],
      [
        { document: MEMBERS_READ, tests: [{ ...MEMBERS_READ_TESTS[0], matched: "members-read" }] },
        /^tests\[0\]\.matched:/,
      ],
    ];
    for (const [body, description] of cases) {
      const refusal = await expectHttpError(await post(orgId, "", body), 400, "invalid_body");
      expect(refusal.error_description).toMatch(description);
    }
    const notJson = await adminRequest("POST", `/orgs/${orgId}/policies`, { token, body: "{ nope" });
    await expectHttpError(notJson, 400, "invalid_body");
    const wrongType = await adminRequest("POST", `/orgs/${orgId}/policies`, {
      token,
      body: JSON.stringify({ document: MEMBERS_READ }),
      headers: { "Content-Type": "text/plain" },
    });
    await expectHttpError(wrongType, 400, "invalid_body");
    expect(await versionsOf(orgId)).toEqual([]);
  });

  it("takes a large policy (a thousand rules) and refuses a body over 1 MiB with 413 payload_too_large", async () => {
    const orgId = await createTestOrg();
    const rules = Array.from({ length: 1000 }, (_, i) => ({ ...MEMBERS_READ.rules[0], id: `rule-${i}` }));
    const large = await createVersion(token, orgId, { format: 2, rules }, []);
    expect(large.rule_count).toBe(1000);
    const huge = { document: { format: 2, description: "x".repeat(1024 * 1024), rules: [] } };
    await expectHttpError(await post(orgId, "", huge), 413, "payload_too_large");
  });

  it("answers 404 not_found for an unknown org or version, and for a version path that is not a number", async () => {
    await expectHttpError(await post("no-such-org", "", { document: MEMBERS_READ }), 404, "not_found");
    await expectHttpError(await get("no-such-org"), 404, "not_found");
    const orgId = await createTestOrg();
    await expectHttpError(await get(orgId, "/1"), 404, "not_found");
    await expectHttpError(await get(orgId, "/0"), 404, "not_found");
    await expectHttpError(await get(orgId, "/latest"), 404, "not_found");
    await expectHttpError(await post(orgId, "/3/test"), 404, "not_found");
  });

  it("needs an operator's admin token", async () => {
    const orgId = await createTestOrg();
    const response = await adminRequest("GET", `/orgs/${orgId}/policies`);
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer /);
  });
});

describe("validate", () => {
  it("checks a document and its tests without saving anything", async () => {
    const orgId = await createTestOrg();
    const response = await post(orgId, "/validate", { document: MEMBERS_READ, tests: MEMBERS_READ_TESTS });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ valid: true, rule_count: 2, test_count: 2 });
    const [, document] = INVALID_DOCUMENTS[2] as [string, unknown];
    const refusal = await expectHttpError(await post(orgId, "/validate", { document }), 400, "invalid_body");
    expect(refusal).toMatchObject({ policy_error: pdpError(document).code, path: pdpError(document).path });
    expect(await versionsOf(orgId)).toEqual([]);
  });
});

describe("test", () => {
  it("runs an unsaved document's tests: each case passes or fails with its decision", async () => {
    const orgId = await createTestOrg();
    const failing = { name: "interns read (wrong)", request: INTERN_REQUEST, expect: "allow" };
    const response = await post(orgId, "/test", { document: MEMBERS_READ, tests: [...MEMBERS_READ_TESTS, failing] });
    expect(response.status).toBe(200);
    const run = (await response.json()) as {
      version: null;
      passed: boolean;
      total: number;
      failed: number;
      results: { name: string; passed: boolean; mismatches: string[]; decision: Record<string, unknown> }[];
    };
    expect(run).toMatchObject({ org_id: orgId, version: null, passed: false, total: 3, failed: 1 });
    expect(run.results.map((r) => [r.name, r.passed])).toEqual([
      ["members read their org's documents", true],
      ["interns do not", true],
      ["interns read (wrong)", false],
    ]);
    expect(run.results[0]?.decision).toMatchObject({
      effect: "allow",
      reason: "allowed",
      matched: ["members-read"],
      filter: { org_id: "org-1" },
      id: expect.any(String),
    });
    expect(run.results[2]).toMatchObject({
      mismatches: ["effect"],
      decision: { effect: "deny", reason: "explicit_deny", matched: ["no-interns"] },
    });
    expect(await versionsOf(orgId)).toEqual([]);
  });

  it("fails a case on the matched rules or the filter as well as on the effect", async () => {
    const orgId = await createTestOrg();
    const tests = [
      { name: "wrong rules", request: MEMBER_REQUEST, expect: "allow", matched: ["no-interns"] },
      { name: "wrong filter", request: MEMBER_REQUEST, expect: "allow", filter: { org_id: "org-2" } },
      { name: "same filter, keys reordered", request: MEMBER_REQUEST, expect: "allow", filter: { org_id: "org-1" } },
    ];
    const run = (await (await post(orgId, "/test", { document: MEMBERS_READ, tests })).json()) as {
      results: { name: string; mismatches: string[] }[];
    };
    expect(run.results.map((r) => r.mismatches)).toEqual([["matched"], ["filter"], []]);
  });

  it("runs a stored version's tests", async () => {
    const orgId = await createTestOrg();
    const saved = await createVersion(token, orgId, DENY_ALL, MEMBERS_READ_TESTS);
    const response = await post(orgId, `/${saved.version}/test`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ version: saved.version, passed: false, total: 2, failed: 2 });
  });
});

describe("what-if", () => {
  it("decides a request against the current policy: the default one before any publish", async () => {
    const orgId = await createTestOrg();
    const response = await post(orgId, "/what-if", { request: MEMBER_REQUEST });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      org_id: orgId,
      source: "default",
      version: null,
      decision: {
        effect: "allow",
        reason: "allowed",
        matched: expect.arrayContaining(["documents.members-read"]),
        filter: expect.any(Object),
      },
    });
  });

  it("decides against a draft version or an unsaved document, with the full decision", async () => {
    const orgId = await createTestOrg();
    const saved = await createVersion(token, orgId, DENY_ALL, []);
    const byVersion = await post(orgId, "/what-if", { request: MEMBER_REQUEST, version: saved.version });
    expect(await byVersion.json()).toMatchObject({
      source: "version",
      version: saved.version,
      decision: { effect: "deny", reason: "no_matching_allow", matched: [] },
    });
    const byDocument = await post(orgId, "/what-if", { request: INTERN_REQUEST, document: MEMBERS_READ });
    expect(await byDocument.json()).toMatchObject({
      source: "document",
      version: null,
      decision: { effect: "deny", reason: "explicit_deny", matched: ["no-interns"] },
    });
  });

  it("refuses what it cannot decide: 400 invalid_body, 404 not_found", async () => {
    const orgId = await createTestOrg();
    await expectHttpError(
      await post(orgId, "/what-if", { request: MEMBER_REQUEST, version: 1, document: MEMBERS_READ }),
      400,
      "invalid_body",
    );
    await expectHttpError(await post(orgId, "/what-if", { request: MEMBER_REQUEST, version: 1 }), 404, "not_found");
    await expectHttpError(
      await post(orgId, "/what-if", { request: MEMBER_REQUEST, version: "1" }),
      400,
      "invalid_body",
    );
    const noRequest = await expectHttpError(await post(orgId, "/what-if", {}), 400, "invalid_body");
    expect(noRequest.error_description).toMatch(/^request: must be an object/);
    const noType = await expectHttpError(
      await post(orgId, "/what-if", { request: { ...MEMBER_REQUEST, resource: {} } }),
      400,
      "invalid_body",
    );
    expect(noType.error_description).toMatch(/^request\.resource\.type: required/);
    const [, document] = INVALID_DOCUMENTS[3] as [string, unknown];
    const bad = await expectHttpError(
      await post(orgId, "/what-if", { request: MEMBER_REQUEST, document }),
      400,
      "invalid_body",
    );
    expect(bad).toMatchObject({ policy_error: pdpError(document).code, path: pdpError(document).path });
  });
});

describe("show and list", () => {
  it("shows the default policy as current before any publish", async () => {
    const orgId = await createTestOrg();
    const response = await get(orgId, "/current");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      org_id: orgId,
      version: null,
      source: "default",
      document: DEFAULT_POLICY,
    });
  });

  it("lists versions newest first, with pages", async () => {
    const orgId = await createTestOrg();
    for (let i = 0; i < 3; i += 1) await createVersion(token, orgId);
    const all = (await (await get(orgId)).json()) as { current_version: number | null; versions: VersionBody[] };
    expect(all.current_version).toBeNull();
    expect(all.versions.map((v) => [v.version, v.status, v.current, v.test_count])).toEqual([
      [3, "draft", false, 2],
      [2, "draft", false, 2],
      [1, "draft", false, 2],
    ]);
    expect(all.versions[0]).not.toHaveProperty("document");
    const page = (await (await get(orgId, "?limit=1&before=3")).json()) as { versions: VersionBody[] };
    expect(page.versions.map((v) => v.version)).toEqual([2]);
    await expectHttpError(await get(orgId, "?limit=0"), 400, "invalid_query");
    await expectHttpError(await get(orgId, "?limit=many"), 400, "invalid_query");
  });
});

async function versionsOf(orgId: string): Promise<number[]> {
  const rows = await env.DB.prepare("SELECT version FROM policy_version WHERE org_id = ?")
    .bind(orgId)
    .all<{ version: number }>();
  return rows.results.map((r) => r.version);
}
