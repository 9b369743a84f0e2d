import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { MEMBERS_READ } from "./policies-fixtures.ts";

// The compile-time cost estimate at the policy lifecycle's door
// (docs/policy.md, "Cost"): a rule whose worst case over the input limits
// exceeds POLICY_LIMITS.ruleCost is refused when an admin saves, validates
// or publishes it, naming the rule, not discovered when a caller sends the
// 8 KiB path that makes it cost seconds of a gateway every org shares.

let token: string;
beforeAll(async () => {
  token = await adminToken();
});

const LIST_64 = `[${Array.from({ length: 64 }, (_, i) => i).join(", ")}]`;
/** The review's rule: 200 of them took 1.4 s a decision on an 8 KiB path. */
const HOSTILE = {
  format: 2,
  rules: [
    ...MEMBERS_READ.rules,
    {
      id: "paths.hostile",
      effect: "deny",
      resource: "*",
      actions: ["*"],
      when: `${LIST_64}.exists(i, size(context.path) == 1 || context.path.lowerAscii().contains("zz"))`,
    },
  ],
};

function post(orgId: string, suffix: string, body?: unknown) {
  return adminRequest("POST", `/orgs/${orgId}/policies${suffix}`, { token, body });
}

async function expectTooCostly(response: Response, status: number, code: string): Promise<void> {
  const body = await expectHttpError(response, status, code);
  expect(body).toMatchObject({ policy_error: "ERR_POLICY_TOO_COSTLY", path: "$.rules[2].when" });
  expect(body.error_description).toContain('rule "paths.hostile"');
}

describe("policy cost at publish", () => {
  it("refuses to save or validate the review's rule: 400 invalid_body ERR_POLICY_TOO_COSTLY naming it", async () => {
    const orgId = await createTestOrg();
    await expectTooCostly(await post(orgId, "", { document: HOSTILE, tests: [] }), 400, "invalid_body");
    await expectTooCostly(await post(orgId, "/validate", { document: HOSTILE }), 400, "invalid_body");
    const saved = await env.DB.prepare("SELECT COUNT(*) AS n FROM policy_version WHERE org_id = ?")
      .bind(orgId)
      .first<{ n: number }>();
    expect(saved?.n).toBe(0);
  });

  it("refuses to publish such a version saved before the estimate existed: 409 conflict, nothing made current", async () => {
    const orgId = await createTestOrg();
    await env.DB.prepare(
      `INSERT INTO policy_version (org_id, version, document, tests, status, created_by, created_at)
       VALUES (?, 1, ?, '[]', 'draft', 'test', ?)`,
    )
      .bind(orgId, JSON.stringify(HOSTILE), Date.now())
      .run();
    await expectTooCostly(await post(orgId, "/1/publish"), 409, "conflict");
    const current = await adminRequest("GET", `/orgs/${orgId}/policies`, { token });
    expect(await current.json()).toMatchObject({ current_version: null });
  });
});
