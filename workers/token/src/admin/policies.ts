import type { Context } from "hono";
import { orgStateName } from "../../../../shared/contracts/storage-keys.ts";
import { HttpError, httpErrorStatus } from "../../../../shared/errors/http.ts";
import { jsonErrorResponse } from "../../../../shared/errors/json-error.ts";
import { type CompiledPolicy, compilePolicy } from "../../../../shared/policy/compile-policy.ts";
import { decide } from "../../../../shared/policy/decide.ts";
// The policy every gateway applies to an org that has published none: what-if
// and show answer with the same document.
import { DEFAULT_POLICY } from "../../../../shared/policy/default-policy.ts";
import { readDecisionRequest } from "../policies/decision-request.ts";
import { compileStored, PolicyRefusal, validateDocument } from "../policies/document.ts";
import { makeCurrent, type Publication } from "../policies/publish.ts";
import { decisionView, readTestCases, runTestCases, type TestRun } from "../policies/test-cases.ts";
import {
  findVersion,
  listVersions,
  type PolicyVersion,
  type PolicyVersionSummary,
  saveDraft,
} from "../policies/versions.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject, readOptionalJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import { knownQuery, queryInteger } from "./query.ts";
import type { AdminApp, AdminEnv } from "./types.ts";
import { onlyFields, optionalBoolean } from "./validate.ts";
import { policySchemas } from "../openapi/schemas.ts";
import { route } from "./route.ts";
import { policyVersionView, publicationView, summaryView, testRunView } from "./policy-views.ts";

const PATH = "/orgs/:org/policies";
const VERSION_PATH = `${PATH}/:version{[0-9]{1,9}}`;
/** A policy request carries a whole document and its tests: more than other admin bodies. */
export const MAX_POLICY_BODY_BYTES = 1024 * 1024;
const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 500;

type PolicyContext = Context<AdminEnv>;

/**
 * An org's policy versions and their lifecycle (policies/, docs/policy.md):
 *
 * - POST `` `{ document, tests? }` → 201 a new draft version (numbers 1, 2, …
 *   per org); a document that does not compile is 400 `invalid_body` with
 *   the PDP's `policy_error` code and `path`; bad tests name the case.
 * - GET `` `?limit=&before=` → the versions, newest first, and which is current.
 * - POST `/validate` `{ document, tests? }` → `{ valid: true, … }`, nothing saved.
 * - POST `/test` `{ document, tests }` → the test run, nothing saved;
 *   POST `/{version}/test` → the stored version's test run.
 * - POST `/what-if` `{ request, version? | document? }` → the full decision
 *   of a version, an unsaved document, or (neither) the current policy.
 * - GET `/current` → the current version and its document (the default
 *   policy's when none is published); GET `/{version}` → that version.
 * - POST `/{version}/publish` → runs its tests (422 `policy_tests_failed`
 *   with the failures, nothing changed), then makes it current
 *   (policies/publish.ts).
 * - POST `/{version}/rollback` `{ run_tests? }` → makes a version that was
 *   published before current again; a draft is 409 `conflict`.
 *
 * An unknown version is 404 `not_found`. Which version is current is the
 * org's Durable Object's answer; D1's statuses record it.
 */
export function policyRoutes(admin: AdminApp): void {
  route(
    admin,
    "get",
    PATH,
    {
      summary: "List policy versions, newest first",
      query: policySchemas.listQuery,
      response: policySchemas.list,
      orgAdmins: "org",
    },
    answer(listHandler),
  );
  route(
    admin,
    "post",
    PATH,
    {
      summary: "Save a draft policy version",
      body: policySchemas.document,
      response: policySchemas.version,
      status: 201,
      orgAdmins: "org",
    },
    answer(createHandler),
  );
  route(
    admin,
    "post",
    `${PATH}/validate`,
    {
      summary: "Validate a policy document and its tests (nothing saved)",
      body: policySchemas.document,
      response: policySchemas.validated,
      orgAdmins: "org",
    },
    answer(validateHandler),
  );
  route(
    admin,
    "post",
    `${PATH}/test`,
    {
      summary: "Run a document's tests (nothing saved)",
      body: policySchemas.document,
      response: policySchemas.any,
      orgAdmins: "org",
    },
    answer(testDraftHandler),
  );
  route(
    admin,
    "post",
    `${PATH}/what-if`,
    {
      summary: "The decision a version, a document or the current policy gives a request",
      body: policySchemas.whatIf,
      response: policySchemas.any,
      orgAdmins: "org",
    },
    answer(whatIfHandler),
  );
  route(
    admin,
    "get",
    `${PATH}/current`,
    {
      summary: "The current policy (the default when none is published)",
      response: policySchemas.any,
      orgAdmins: "org",
    },
    answer(currentHandler),
  );
  route(
    admin,
    "get",
    VERSION_PATH,
    { summary: "One policy version", response: policySchemas.version, orgAdmins: "org" },
    answer(showHandler),
  );
  route(
    admin,
    "post",
    `${VERSION_PATH}/test`,
    { summary: "Run a stored version's tests", response: policySchemas.any, orgAdmins: "org" },
    answer(testVersionHandler),
  );
  route(
    admin,
    "post",
    `${VERSION_PATH}/publish`,
    {
      summary: "Publish a version (its tests must pass: 422 policy_tests_failed)",
      response: policySchemas.publication,
      orgAdmins: "org",
    },
    answer(publishHandler),
  );
  route(
    admin,
    "post",
    `${VERSION_PATH}/rollback`,
    {
      summary: "Make a previously published version current again",
      body: policySchemas.rollback,
      bodyOptional: true,
      response: policySchemas.publication,
      orgAdmins: "org",
    },
    answer(rollbackHandler),
  );
}

async function createHandler(c: PolicyContext): Promise<Response> {
  const orgId = await requireOrg(c);
  auditDetail(c, { action: "policy.create" });
  const body = await readJsonObject(c, MAX_POLICY_BODY_BYTES);
  onlyFields(body, ["document", "tests"]);
  const document = validateDocument(body.document);
  const tests = readTestCases(body.tests);
  const saved = await saveDraft(c.env.DB, {
    orgId,
    documentJson: document.json,
    tests,
    createdBy: c.get("operator").subject,
  });
  auditDetail(c, { policy_version: saved.version });
  return c.json(await versionView(c, saved), 201);
}

async function listHandler(c: PolicyContext): Promise<Response> {
  const orgId = await requireOrg(c);
  auditDetail(c, { action: "policy.list" });
  const params = knownQuery(c, ["limit", "before"]);
  const limit = queryInteger(params.limit, "limit", MAX_LIST_LIMIT) ?? DEFAULT_LIST_LIMIT;
  const before = queryInteger(params.before, "before", 999_999_999);
  const [current, versions] = await Promise.all([
    currentVersion(c, orgId),
    listVersions(c.env.DB, orgId, { limit, ...(before === undefined ? {} : { before }) }),
  ]);
  return c.json({
    org_id: orgId,
    current_version: current,
    versions: versions.map((v) => summaryView(v, current)),
  });
}

async function validateHandler(c: PolicyContext): Promise<Response> {
  await requireOrg(c);
  auditDetail(c, { action: "policy.validate" });
  const body = await readJsonObject(c, MAX_POLICY_BODY_BYTES);
  onlyFields(body, ["document", "tests"]);
  const document = validateDocument(body.document);
  const tests = readTestCases(body.tests);
  return c.json({ valid: true, rule_count: document.ruleCount, test_count: tests.length });
}

async function testDraftHandler(c: PolicyContext): Promise<Response> {
  const orgId = await requireOrg(c);
  auditDetail(c, { action: "policy.test" });
  const body = await readJsonObject(c, MAX_POLICY_BODY_BYTES);
  onlyFields(body, ["document", "tests"]);
  const document = validateDocument(body.document);
  const run = runTestCases(document.compiled, readTestCases(body.tests));
  auditDetail(c, { passed: run.passed, failed: run.failed });
  return c.json(testRunView(orgId, null, run));
}

async function testVersionHandler(c: PolicyContext): Promise<Response> {
  const stored = await requireVersion(c, "policy.test");
  const run = runTestCases(compileStored(stored.documentJson).compiled, stored.tests);
  auditDetail(c, { passed: run.passed, failed: run.failed });
  return c.json(testRunView(stored.orgId, stored.version, run));
}

async function whatIfHandler(c: PolicyContext): Promise<Response> {
  const orgId = await requireOrg(c);
  auditDetail(c, { action: "policy.what_if" });
  const body = await readJsonObject(c, MAX_POLICY_BODY_BYTES);
  onlyFields(body, ["request", "version", "document"]);
  if (body.version !== undefined && body.document !== undefined) {
    throw new HttpError("invalid_body", "version, document: give one of them, or neither for the current policy");
  }
  const input = readDecisionRequest(body.request, "request");
  let source: "document" | "version" | "current" | "default";
  let version: number | null = null;
  let compiled: CompiledPolicy;
  if (body.document !== undefined) {
    source = "document";
    compiled = validateDocument(body.document).compiled;
  } else {
    version = body.version === undefined ? await currentVersion(c, orgId) : versionNumber(body.version);
    if (version === null) {
      source = "default";
      compiled = compilePolicy(DEFAULT_POLICY);
    } else {
      source = body.version === undefined ? "current" : "version";
      const stored = await findVersion(c.env.DB, orgId, version);
      if (!stored) throw new HttpError("not_found", `no policy version ${version} in this org`);
      compiled = compileStored(stored.documentJson).compiled;
    }
  }
  const decision = decisionView(decide(compiled, input, crypto.randomUUID()));
  auditDetail(c, { source, ...(version === null ? {} : { policy_version: version }), effect: decision.effect });
  return c.json({ org_id: orgId, source, version, decision });
}

async function currentHandler(c: PolicyContext): Promise<Response> {
  const orgId = await requireOrg(c);
  auditDetail(c, { action: "policy.show" });
  const current = await currentVersion(c, orgId);
  if (current === null) {
    return c.json({ org_id: orgId, version: null, source: "default", document: DEFAULT_POLICY });
  }
  auditDetail(c, { policy_version: current });
  const stored = await findVersion(c.env.DB, orgId, current);
  if (!stored) throw new Error(`org ${orgId}'s current policy version ${current} is not in D1`);
  return c.json({ ...(await versionView(c, stored, current)), source: "published" });
}

async function showHandler(c: PolicyContext): Promise<Response> {
  const stored = await requireVersion(c, "policy.show");
  return c.json(await versionView(c, stored));
}

async function publishHandler(c: PolicyContext): Promise<Response> {
  const stored = await requireVersion(c, "policy.publish");
  const publication = await makeCurrent(c.env, stored, { runTests: true });
  auditPublication(c, publication);
  return c.json(publicationView(publication));
}

async function rollbackHandler(c: PolicyContext): Promise<Response> {
  const stored = await requireVersion(c, "policy.rollback");
  const body = await readOptionalJsonObject(c);
  onlyFields(body, ["run_tests"]);
  const runTests = optionalBoolean(body, "run_tests") ?? false;
  if (stored.publishedAt === null) {
    throw new HttpError(
      "conflict",
      `version ${stored.version} was never published: publish it instead (its tests run first)`,
    );
  }
  const publication = await makeCurrent(c.env, stored, { runTests });
  auditPublication(c, publication);
  return c.json(publicationView(publication));
}

/** The version the path names, in the org the path names; 404 `not_found` otherwise. */
async function requireVersion(c: PolicyContext, action: string): Promise<PolicyVersion> {
  const orgId = await requireOrg(c);
  const version = Number(c.req.param("version"));
  auditDetail(c, { action, policy_version: version });
  const stored = version >= 1 ? await findVersion(c.env.DB, orgId, version) : undefined;
  if (!stored) throw new HttpError("not_found", `no policy version ${version} in this org`);
  return stored;
}

/** The org's current version as its Durable Object records it (null: the default policy). */
async function currentVersion(c: PolicyContext, orgId: string): Promise<number | null> {
  return (await c.env.ORG_STATE.getByName(orgStateName(orgId)).policyPublication()).version;
}

function auditPublication(c: PolicyContext, publication: Publication): void {
  auditDetail(c, {
    previous_version: publication.previousVersion,
    publish_seq: publication.sequence,
    ...(publication.testRun ? { tests_run: publication.testRun.total } : {}),
  });
}

/** Handlers throw a PolicyRefusal where the answer names more than a description. */
function answer(handler: (c: PolicyContext) => Promise<Response>): (c: PolicyContext) => Promise<Response> {
  return async (c) => {
    try {
      return await handler(c);
    } catch (error) {
      if (!(error instanceof PolicyRefusal)) throw error;
      return jsonErrorResponse(httpErrorStatus(error.code), {
        error: error.code,
        error_description: error.description,
        ...error.extra,
      });
    }
  };
}

function versionNumber(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new HttpError("invalid_body", "version: must be a positive integer");
  }
  return value;
}

async function versionView(c: PolicyContext, v: PolicyVersion, knownCurrent?: number | null) {
  const current = knownCurrent === undefined ? await currentVersion(c, v.orgId) : knownCurrent;
  return policyVersionView(v, current);
}
