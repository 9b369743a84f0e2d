import { describe, expect, it } from "vitest";
import { compileCondition } from "../../shared/policy/compile-condition.ts";
import { compilePolicy } from "../../shared/policy/compile-policy.ts";
import { METER } from "../../shared/policy/cost-meter.ts";
import { decide } from "../../shared/policy/decide.ts";
import { PolicyError } from "../../shared/policy/errors.ts";
import { POLICY_LIMITS } from "../../shared/policy/limits.ts";
import type { DecisionInput, PolicyRule } from "../../shared/policy/types.ts";

// The cost of a decision (docs/policy.md, "Cost"): the compile-time
// estimate that refuses a condition too costly at the input limits, and the
// runtime budget that stops a decision whose cheap-looking rules add up on
// a caller's input. In workerd, as the gateway runs them.

const LIST_64 = `[${Array.from({ length: 64 }, (_, i) => i).join(", ")}]`;
/** The review's rule: 1.4 s for 200 of them on an 8 KiB path in Node. */
const REVIEW_HOSTILE = `${LIST_64}.exists(i, size(context.path) == 1 || context.path.lowerAscii().contains("zz"))`;
/** Within the per-rule estimate (32 × 8 192 code points counted), but a thousand of them are seconds. */
const COSTLY_ON_LONG_PATHS = `[${Array.from({ length: 32 }, (_, i) => i).join(", ")}].exists(i, size(context.path) == i - 100)`;

const LONG_PATH = `/api/documents/${"a".repeat(POLICY_LIMITS.inputStringLength - 15)}`;

function request(path = "/api/documents", overrides: Partial<DecisionInput> = {}): DecisionInput {
  return {
    subject: { id: "u1", org_id: "o1", client_id: "c1", roles: ["member"], scope: ["documents:read"] },
    resource: { type: "documents" },
    action: "read",
    context: { method: "GET", path },
    ...overrides,
  };
}

function rules(count: number, rule: (i: number) => Omit<PolicyRule, "id">): PolicyRule[] {
  return Array.from({ length: count }, (_, i) => ({ id: `r${i}`, ...rule(i) }));
}

const ALLOW_MEMBERS: PolicyRule = {
  id: "members",
  effect: "allow",
  resource: "documents",
  actions: ["read"],
  when: '"member" in subject.roles',
};

function refusal(document: unknown): PolicyError {
  try {
    compilePolicy(document);
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error("the document compiles");
}

describe("the compile-time estimate", () => {
  it("refuses the review's rule: ERR_POLICY_TOO_COSTLY at its condition, naming the rule", () => {
    const error = refusal({
      format: 2,
      rules: [ALLOW_MEMBERS, { id: "hostile-1", effect: "deny", resource: "*", actions: ["*"], when: REVIEW_HOSTILE }],
    });
    expect(error.code).toBe("ERR_POLICY_TOO_COSTLY");
    expect(error.path).toBe("$.rules[1].when");
    expect(error.message).toContain('rule "hostile-1"');
  });

  it("leaves a published snapshot's costly rule to the runtime budget (a lazy compile, as the gateway's)", () => {
    const policy = compilePolicy(
      {
        format: 2,
        rules: [
          ALLOW_MEMBERS,
          ...rules(2, () => ({ effect: "deny", resource: "*", actions: ["*"], when: REVIEW_HOSTILE })),
        ],
      },
      { lazy: true },
    );
    expect(decide(policy, request())).toMatchObject({ effect: "allow", matched: ["members"] });
    expect(decide(policy, request(LONG_PATH))).toMatchObject({ effect: "deny", reason: "cost_limit_exceeded" });
  });

  it("keeps ordinary conditions far below the limit", () => {
    for (const when of [
      '"documents:read" in subject.scope && subject.roles.exists(r, r in ["owner", "admin"])',
      'subject.roles.exists(r, r.startsWith("audit")) && context.dpop_bound',
      'context.mcp_method == "tools/call" && context.mcp_tool in ["search", "fetch"]',
      'context.path.lowerAscii().startsWith("/api/documents/")',
      'context.dpop_bound && context.time.getHours("Europe/Berlin") >= 8',
    ]) {
      expect(compileCondition(when, "$").worstCase).toBeLessThan(POLICY_LIMITS.ruleCost / 50);
    }
  });

  it("bounds what the meter charges on the largest inputs the limits allow", () => {
    const longest = "é".repeat(POLICY_LIMITS.inputStringLength);
    const many = Array.from({ length: POLICY_LIMITS.inputListItems }, () => longest);
    const input = request(longest, {
      subject: { id: longest, org_id: longest, client_id: longest, roles: many, scope: many },
      resource: { type: "documents", attributes: { tier: many } },
    });
    input.context.ip = longest;
    for (const when of [
      'context.path.lowerAscii().contains("zz")',
      "context.path + context.ip == context.path.upperAscii()",
      'subject.roles.map(r, r.upperAscii()) == ["A"]',
      'subject.scope.exists(s, s.contains(":admin"))',
      "context.path in subject.roles",
      "size(context.path) > 1 && size(string(size(subject.roles))) > 0",
      '"x" in resource.attributes.tier',
    ]) {
      const condition = compileCondition(when, "$");
      const policy = compilePolicy({
        format: 2,
        rules: [{ id: "probe", effect: "deny", resource: "*", actions: ["*"], when }],
      });
      const decision = decide(policy, input);
      expect(decision.reason, when).not.toBe("cost_limit_exceeded");
      expect(METER.spent, when).toBeGreaterThan(condition.cost);
      expect(METER.spent, when).toBeLessThanOrEqual(condition.worstCase);
    }
  });
});

describe("the runtime budget", () => {
  const costly = compilePolicy({
    format: 2,
    rules: [
      ALLOW_MEMBERS,
      ...rules(1000, () => ({ effect: "deny", resource: "documents", actions: ["read"], when: COSTLY_ON_LONG_PATHS })),
    ],
  });

  it("stops a decision whose rules add up on a long path: cost_limit_exceeded, naming the rule it stopped in", () => {
    const decision = decide(costly, request(LONG_PATH));
    expect(decision).toMatchObject({ effect: "deny", reason: "cost_limit_exceeded", matched: [] });
    expect(decision.errored).toHaveLength(1);
    // Evaluated in full, the thousand rules count 262 million code points (seconds); the reason says the
    // meter stopped it at one million units (no wall-clock assertion: the suite measures no time).
  });

  it("decides the same policy on an ordinary path as always", () => {
    expect(decide(costly, request())).toMatchObject({ effect: "allow", matched: ["members"] });
  });

  it("fails closed when the library swallows the meter's stop (`x || true` is true in CEL)", () => {
    const policy = compilePolicy({
      format: 2,
      rules: rules(1000, () => ({
        effect: "allow",
        resource: "documents",
        actions: ["read"],
        when: 'context.path.lowerAscii().contains("zz") || true',
      })),
    });
    expect(decide(policy, request())).toMatchObject({ effect: "allow" });
    expect(decide(policy, request(LONG_PATH))).toMatchObject({ effect: "deny", reason: "cost_limit_exceeded" });
  });

  it("decides 10 000 simple rules in one bucket well inside the budget", () => {
    const policy = compilePolicy({
      format: 2,
      rules: rules(10_000, (i) => ({
        effect: i % 5 === 0 ? "deny" : "allow",
        resource: "documents",
        actions: ["read"],
        when:
          i % 5 === 0
            ? `subject.id == "blocked-${i}"`
            : `"role-${i % 17}" in subject.scope && subject.org_id != "org-${i}"`,
      })),
    });
    expect(
      decide(policy, request("/api/documents", { subject: { ...request().subject, scope: ["role-3"] } })),
    ).toMatchObject({
      effect: "allow",
    });
    expect(METER.spent).toBeLessThan(POLICY_LIMITS.decisionCost / 5);
  });

  it("charges nothing outside a decision", () => {
    const condition = compileCondition('context.path.lowerAscii().contains("zz")', "$");
    expect(Number.isFinite(METER.limit)).toBe(false);
    expect(condition.cost).toBeGreaterThan(0);
  });
});
