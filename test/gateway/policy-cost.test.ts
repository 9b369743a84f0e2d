import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { KV_KEY, orgStateName } from "../../shared/contracts/storage-keys.ts";
import { DEFAULT_POLICY } from "../../shared/policy/default-policy.ts";
import { POLICY_LIMITS } from "../../shared/policy/limits.ts";
import { gatewayFetch, memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// The decision budget through the real gateway (protect.ts): a published
// policy whose rules each pass the compile-time estimate but add up, on a
// path the caller chose, to seconds of the isolate every org shares, is
// stopped at POLICY_LIMITS.decisionCost and refused fail closed.

const SIZES = `[${Array.from({ length: 32 }, (_, i) => i).join(", ")}]`;
/** 1 000 of them count 262 million code points of an 8 KiB path (seconds); each alone is within the estimate. */
const COSTLY_ON_LONG_PATHS = {
  ...DEFAULT_POLICY,
  rules: [
    ...DEFAULT_POLICY.rules,
    ...Array.from({ length: 1000 }, (_, i) => ({
      id: `paths.odd-${i}`,
      effect: "deny" as const,
      resource: "documents",
      actions: ["read"],
      when: `${SIZES}.exists(i, size(context.path) == i - 100)`,
    })),
  ],
};

describe("gateway: a decision over its cost budget", () => {
  let signer: TestSigner;
  const orgId = `org-${crypto.randomUUID()}`;

  beforeAll(async () => {
    signer = await testSigner();
    await env.KV.put(KV_KEY.policy(orgId, 1), JSON.stringify(COSTLY_ON_LONG_PATHS));
    await env.ORG_STATE.getByName(orgStateName(orgId)).setPolicyVersion(1);
  });
  beforeEach(() => signer.publish());

  async function documents(path: string, jti: string = crypto.randomUUID()): Promise<Response> {
    const token = await signer.sign(memberClaims({ org_id: orgId, jti }));
    return gatewayFetch(`http://localhost:8787${path}`, { headers: { Authorization: `Bearer ${token}` } });
  }

  it("is refused 403 access_denied cost_limit_exceeded with its decision id, and audited with the rule it stopped in", async () => {
    const path = `${ENDPOINT.documents}/${"a".repeat(POLICY_LIMITS.inputStringLength - ENDPOINT.documents.length - 1)}`;
    const response = await documents(path);
    expect(response.status).toBe(403);
    const body = (await response.json()) as { error: string; error_description: string; decision_id: string };
    expect(body).toMatchObject({ error: "access_denied", error_description: "cost_limit_exceeded" });
    await expect
      .poll(async () => {
        const row = await env.AUDIT_DB.prepare("SELECT outcome, detail FROM audit_event WHERE id = ?")
          .bind(body.decision_id)
          .first<{ outcome: string; detail: string }>();
        return row ? { outcome: row.outcome, detail: JSON.parse(row.detail) as Record<string, unknown> } : null;
      })
      .toMatchObject({
        outcome: "deny",
        detail: { reason: "cost_limit_exceeded", matched: [], errored: [expect.stringMatching(/^paths\.odd-\d+$/)] },
      });
  });

  it("decides an ordinary request of the same org as the policy says", async () => {
    const response = await documents(ENDPOINT.documents);
    expect(response.status).toBe(200);
  });
});
