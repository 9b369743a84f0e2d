import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { KV_KEY, orgStateName } from "../../shared/contracts/storage-keys.ts";
import { arrivedRows } from "../audit/runtime/audit-rows.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import {
  createVersion,
  DENY_ALL,
  INTERN_REQUEST,
  MEMBER_REQUEST,
  MEMBERS_READ,
  MEMBERS_READ_TESTS,
  publish,
  type VersionBody,
} from "./policies-fixtures.ts";

// Publishing and rolling back (workers/token/src/policies/publish.ts): the
// tests gate, then the KV snapshot, the org's Durable Object and D1's
// statuses, in that order, each checked in the real bindings.

let token: string;
beforeAll(async () => {
  token = await adminToken();
});

function post(orgId: string, suffix: string, body?: unknown) {
  return adminRequest("POST", `/orgs/${orgId}/policies${suffix}`, { token, body });
}

async function current(orgId: string): Promise<number | null> {
  return (await env.ORG_STATE.getByName(orgStateName(orgId)).policyPublication()).version;
}

async function statuses(orgId: string): Promise<[number, string][]> {
  const rows = await env.DB.prepare("SELECT version, status FROM policy_version WHERE org_id = ? ORDER BY version")
    .bind(orgId)
    .all<{ version: number; status: string }>();
  return rows.results.map((r) => [r.version, r.status]);
}

describe("publish", () => {
  it("writes the KV snapshot, makes the version current in the org's object, and records it in D1", async () => {
    const orgId = await createTestOrg();
    const saved = await createVersion(token, orgId);
    const published = await publish(token, orgId, saved.version);
    expect(published).toMatchObject({
      org_id: orgId,
      version: 1,
      status: "published",
      previous_version: null,
      publish_seq: 1,
      tests: { total: 2, passed: true },
      published_at: expect.any(String),
    });
    expect(JSON.parse((await env.KV.get(KV_KEY.policy(orgId, 1))) ?? "null")).toEqual(MEMBERS_READ);
    expect(await current(orgId)).toBe(1);
    expect((await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId)).policyVersion).toBe(1);
    expect(await statuses(orgId)).toEqual([[1, "published"]]);

    const shown = (await (
      await adminRequest("GET", `/orgs/${orgId}/policies/current`, { token })
    ).json()) as VersionBody & {
      source: string;
    };
    expect(shown).toMatchObject({
      version: 1,
      source: "published",
      status: "published",
      current: true,
      document: MEMBERS_READ,
    });

    const whatIf = await post(orgId, "/what-if", { request: INTERN_REQUEST });
    expect(await whatIf.json()).toMatchObject({
      source: "current",
      version: 1,
      decision: { effect: "deny", matched: ["no-interns"] },
    });
  });

  it("refuses a version whose tests fail: 422 policy_tests_failed naming the failures, and changes nothing", async () => {
    const orgId = await createTestOrg();
    const failing = [
      ...MEMBERS_READ_TESTS,
      { name: "interns read", request: INTERN_REQUEST, expect: "allow" },
      { name: "members are denied", request: MEMBER_REQUEST, expect: "deny" },
      { name: "by the wrong rule", request: MEMBER_REQUEST, expect: "allow", matched: ["no-interns"] },
    ];
    const saved = await createVersion(token, orgId, MEMBERS_READ, failing);
    const refusal = await expectHttpError(await post(orgId, `/${saved.version}/publish`), 422, "policy_tests_failed");
    expect(refusal).toMatchObject({ version: 1, failed: 3, total: 5 });
    expect(refusal.error_description).toContain('"interns read" expected allow, got deny (explicit_deny)');
    expect(refusal.error_description).toContain('"members are denied" expected deny, got allow (allowed)');
    expect(refusal.error_description).toContain('"by the wrong rule" expected rules no-interns, matched members-read');
    expect(await env.KV.get(KV_KEY.policy(orgId, 1))).toBeNull();
    expect(await current(orgId)).toBeNull();
    expect(await statuses(orgId)).toEqual([[1, "draft"]]);
  });

  it("refuses a version without test cases: 422 policy_tests_failed", async () => {
    const orgId = await createTestOrg();
    const saved = await createVersion(token, orgId, DENY_ALL, []);
    const refusal = await expectHttpError(await post(orgId, `/${saved.version}/publish`), 422, "policy_tests_failed");
    expect(refusal.error_description).toMatch(/no test cases/);
    expect(await current(orgId)).toBeNull();
  });

  it("supersedes the version published before it; the list marks the current one", async () => {
    const orgId = await createTestOrg();
    await createVersion(token, orgId);
    await createVersion(token, orgId, DENY_ALL, [{ name: "members denied", request: MEMBER_REQUEST, expect: "deny" }]);
    await publish(token, orgId, 1);
    expect(await publish(token, orgId, 2)).toMatchObject({ version: 2, previous_version: 1, publish_seq: 2 });
    expect(await statuses(orgId)).toEqual([
      [1, "superseded"],
      [2, "published"],
    ]);
    const listed = (await (await adminRequest("GET", `/orgs/${orgId}/policies`, { token })).json()) as {
      current_version: number;
      versions: VersionBody[];
    };
    expect(listed.current_version).toBe(2);
    expect(listed.versions.map((v) => [v.version, v.current])).toEqual([
      [2, true],
      [1, false],
    ]);
  });

  it("is idempotent: publishing the current version again keeps it current", async () => {
    const orgId = await createTestOrg();
    await createVersion(token, orgId);
    await publish(token, orgId, 1);
    expect(await publish(token, orgId, 1)).toMatchObject({ version: 1, previous_version: 1, publish_seq: 2 });
    expect(await statuses(orgId)).toEqual([[1, "published"]]);
  });

  it("ends racing publishes with D1's statuses as the org's object decided", async () => {
    const orgId = await createTestOrg();
    const versions = 8;
    for (let i = 0; i < versions; i += 1) await createVersion(token, orgId);
    const results = await Promise.all(Array.from({ length: versions }, (_, i) => post(orgId, `/${i + 1}/publish`)));
    expect(results.map((r) => r.status)).toEqual(Array(versions).fill(200));
    const winner = await current(orgId);
    const published = (await statuses(orgId)).filter(([, status]) => status === "published");
    expect(published).toEqual([[winner, "published"]]);
  });

  it("answers 404 not_found for an unknown version", async () => {
    const orgId = await createTestOrg();
    await expectHttpError(await post(orgId, "/9/publish"), 404, "not_found");
    await expectHttpError(await post(orgId, "/9/rollback"), 404, "not_found");
  });

  it("is audited as an admin action naming the version, never the document", async () => {
    const orgId = await createTestOrg();
    await createVersion(token, orgId);
    await publish(token, orgId, 1);
    const rows = await arrivedRows(
      "SELECT outcome, detail FROM audit_event WHERE kind = 'admin.action' AND org_id = ? AND detail LIKE '%policy.publish%'",
      orgId,
    );
    const detail = JSON.parse(rows[0]?.detail ?? "{}") as Record<string, unknown>;
    expect(rows[0]?.outcome).toBe("allow");
    expect(detail).toMatchObject({
      action: "policy.publish",
      policy_version: 1,
      previous_version: null,
      publish_seq: 1,
    });
    expect(rows[0]?.detail).not.toContain("members-read");
  });
});

describe("rollback", () => {
  it("makes a previously published version current again, without re-running its tests unless asked", async () => {
    const orgId = await createTestOrg();
    await createVersion(token, orgId);
    await createVersion(token, orgId, DENY_ALL, [{ name: "members denied", request: MEMBER_REQUEST, expect: "deny" }]);
    await publish(token, orgId, 1);
    await publish(token, orgId, 2);
    // As if KV had lost the snapshot: rollback writes it again before switching.
    await env.KV.delete(KV_KEY.policy(orgId, 1));

    const back = await post(orgId, "/1/rollback");
    expect(back.status).toBe(200);
    expect(await back.json()).toMatchObject({ version: 1, previous_version: 2, publish_seq: 3 });
    expect(await current(orgId)).toBe(1);
    expect(JSON.parse((await env.KV.get(KV_KEY.policy(orgId, 1))) ?? "null")).toEqual(MEMBERS_READ);
    expect(await statuses(orgId)).toEqual([
      [1, "published"],
      [2, "superseded"],
    ]);

    const tested = await post(orgId, "/2/rollback", { run_tests: true });
    expect(await tested.json()).toMatchObject({ version: 2, previous_version: 1, tests: { total: 1, passed: true } });
    expect(await current(orgId)).toBe(2);
  });

  it("refuses a version that was never published: 409 conflict, nothing changed", async () => {
    const orgId = await createTestOrg();
    await createVersion(token, orgId);
    await createVersion(token, orgId);
    await publish(token, orgId, 1);
    const refusal = await expectHttpError(await post(orgId, "/2/rollback"), 409, "conflict");
    expect(refusal.error_description).toMatch(/never published/);
    expect(await current(orgId)).toBe(1);
    expect(await env.KV.get(KV_KEY.policy(orgId, 2))).toBeNull();
  });

  it("refuses a body it does not understand: 400 invalid_body", async () => {
    const orgId = await createTestOrg();
    await createVersion(token, orgId);
    await publish(token, orgId, 1);
    await expectHttpError(await post(orgId, "/1/rollback", { run_tests: "yes" }), 400, "invalid_body");
    await expectHttpError(await post(orgId, "/1/rollback", { force: true }), 400, "invalid_body");
  });
});
