import { describe, expect, it } from "vitest";
import { compilePolicy, POLICY_LIMITS } from "../../shared/policy/compile-policy.ts";
import { decide } from "../../shared/policy/decide.ts";
import { PolicyError } from "../../shared/policy/errors.ts";
import { matchesFilter, parseDataFilter } from "../../shared/policy/filter.ts";
import type { DecisionInput } from "../../shared/policy/types.ts";
import { DEFAULT_POLICY } from "../../workers/gateway/src/policy/default-policy.ts";

function input(subject: DecisionInput["subject"], action = "read", type = "documents"): DecisionInput {
  return { subject, resource: { type }, action, context: { method: "GET" } };
}

function policyErrorCode(document: unknown): string | undefined {
  try {
    compilePolicy(document);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return (error as PolicyError).code;
  }
}

const policy = compilePolicy(DEFAULT_POLICY);

describe("default policy", () => {
  it("lets a member read public and internal documents of their org", () => {
    const d = decide(policy, input({ org_id: "o1", roles: ["member"], scope: ["documents:read"] }));
    expect(d).toMatchObject({ effect: "allow", matched: ["documents.members-read"], reason: "allowed" });
    expect(d.filter).toEqual({ org_id: "o1", classification: { in: ["public", "internal"] } });
  });

  it("adds confidential for owners, combining filters with any", () => {
    const d = decide(policy, input({ org_id: "o1", roles: ["owner"], scope: ["documents:read"] }));
    expect(d.effect).toBe("allow");
    expect(d.matched).toEqual(["documents.members-read", "documents.admins-read-confidential"]);
    expect(d.filter).toEqual({
      any: [
        { org_id: "o1", classification: { in: ["public", "internal"] } },
        { org_id: "o1", classification: { in: ["confidential"] } },
      ],
    });
  });

  it("denies explicitly without the scope, even for an owner", () => {
    const d = decide(policy, input({ org_id: "o1", roles: ["owner"], scope: [] }));
    expect(d).toMatchObject({ effect: "deny", reason: "explicit_deny", matched: ["documents.require-scope"] });
    expect(d.filter).toBeUndefined();
  });

  it("denies by default: unknown action or resource", () => {
    expect(decide(policy, input({ org_id: "o1", scope: ["documents:read"] }, "delete")).reason).toBe(
      "no_matching_allow",
    );
    expect(decide(policy, input({ org_id: "o1", scope: ["documents:read"] }, "read", "payroll")).reason).toBe(
      "no_matching_allow",
    );
  });

  it("does not allow when the filter cannot be built (no org)", () => {
    expect(decide(policy, input({ roles: ["member"], scope: ["documents:read"] })).effect).toBe("deny");
  });

  it("uses the decision id it is given", () => {
    expect(decide(policy, input({ org_id: "o1", scope: ["documents:read"] }), "d-1").id).toBe("d-1");
  });
});

describe("compilePolicy", () => {
  const rule = { id: "r", effect: "allow", resource: "documents", actions: ["read"] };

  it("refuses malformed documents with a code", () => {
    expect(policyErrorCode(null)).toBe("ERR_POLICY_SHAPE");
    expect(policyErrorCode({ format: 2, rules: [] })).toBe("ERR_POLICY_SHAPE");
    expect(policyErrorCode({ format: 1, rules: [{ ...rule, effect: "maybe" }] })).toBe("ERR_POLICY_SHAPE");
    expect(policyErrorCode({ format: 1, rules: [{ ...rule, actions: [] }] })).toBe("ERR_POLICY_SHAPE");
    expect(policyErrorCode({ format: 1, rules: [rule, rule] })).toBe("ERR_POLICY_DUPLICATE_RULE");
    expect(policyErrorCode({ format: 1, rules: [{ ...rule, effect: "deny", filter: { a: 1 } }] })).toBe(
      "ERR_POLICY_SHAPE",
    );
  });

  it("refuses unknown operators and attributes (no eval, no prototype access)", () => {
    expect(policyErrorCode({ format: 1, rules: [{ ...rule, when: { regex: ["a", "b"] } }] })).toBe(
      "ERR_POLICY_UNKNOWN_OPERATOR",
    );
    expect(
      policyErrorCode({ format: 1, rules: [{ ...rule, when: { eq: [{ var: "subject.__proto__.x" }, 1] } }] }),
    ).toBe("ERR_POLICY_UNKNOWN_ATTRIBUTE");
    expect(policyErrorCode({ format: 1, rules: [{ ...rule, when: { eq: [{ var: "env.SECRET" }, 1] } }] })).toBe(
      "ERR_POLICY_UNKNOWN_ATTRIBUTE",
    );
  });

  it("bounds depth and size", () => {
    let deep: unknown = { eq: [1, 1] };
    for (let i = 0; i <= POLICY_LIMITS.depth + 1; i++) deep = { not: deep };
    expect(policyErrorCode({ format: 1, rules: [{ ...rule, when: deep }] })).toBe("ERR_POLICY_TOO_LARGE");
    const wide = { any: Array.from({ length: POLICY_LIMITS.nodesPerRule }, () => ({ eq: [1, 1] })) };
    expect(policyErrorCode({ format: 1, rules: [{ ...rule, when: wide }] })).toBe("ERR_POLICY_TOO_LARGE");
    const longList = Array.from({ length: POLICY_LIMITS.listItems + 1 }, (_, i) => `v${i}`);
    expect(policyErrorCode({ format: 1, rules: [{ ...rule, when: { in: [{ var: "action" }, longList] } }] })).toBe(
      "ERR_POLICY_SHAPE",
    );
  });

  it("evaluates operators over attributes", () => {
    const p = compilePolicy({
      format: 1,
      rules: [
        {
          ...rule,
          id: "a",
          when: { all: [{ eq: [{ var: "context.method" }, "GET"] }, { in: [{ var: "subject.id" }, ["u1", "u2"]] }] },
        },
        { ...rule, id: "b", effect: "deny", when: { ne: [{ var: "subject.tier" }, "gold"] } },
      ],
    });
    expect(decide(p, input({ id: "u1", tier: "gold" })).effect).toBe("allow");
    expect(decide(p, input({ id: "u1", tier: "tin" })).reason).toBe("explicit_deny");
    expect(decide(p, input({ id: "u3", tier: "gold" })).reason).toBe("no_matching_allow");
  });
});

describe("data filter", () => {
  const rows = [
    { org_id: "o1", classification: "public" },
    { org_id: "o1", classification: "restricted" },
    { org_id: "o2", classification: "public" },
  ];

  it("matches rows by equality, in-lists and any", () => {
    const f = { org_id: "o1", classification: { in: ["public", "internal"] } };
    expect(rows.filter((r) => matchesFilter(r, f))).toEqual([rows[0]]);
    expect(rows.filter((r) => matchesFilter(r, { any: [f, { org_id: "o2" }] }))).toEqual([rows[0], rows[2]]);
  });

  it("parses only well-formed filters", () => {
    expect(parseDataFilter('{"org_id":"o1"}')).toEqual({ org_id: "o1" });
    expect(parseDataFilter(null)).toBeUndefined();
    expect(parseDataFilter("not json")).toBeUndefined();
    expect(parseDataFilter("[]")).toBeUndefined();
    expect(parseDataFilter('{"org_id":{"$ne":"x"}}')).toBeUndefined();
    expect(parseDataFilter('{"any":{"org_id":"o1"}}')).toBeUndefined();
  });
});
