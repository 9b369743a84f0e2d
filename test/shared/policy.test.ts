import { describe, expect, it } from "vitest";
import { compilePolicy, POLICY_LIMITS } from "../../shared/policy/compile-policy.ts";
import { decide } from "../../shared/policy/decide.ts";
import { PolicyError } from "../../shared/policy/errors.ts";
import { type DataFilter, MAX_FILTER_DEPTH, matchesFilter, parseDataFilter } from "../../shared/policy/filter.ts";
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

/** The filter of an allow; fails the test on a deny. */
function allowedFilter(d: ReturnType<typeof decide>): DataFilter {
  expect(d.effect).toBe("allow");
  if (d.effect !== "allow") throw new Error(`expected allow, got ${d.reason}`);
  return d.filter;
}

/** `{ any: [ { any: [ … { a: 1 } ] } ] }`, `levels` deep. */
function nestedFilter(levels: number): Record<string, unknown> {
  let filter: Record<string, unknown> = { a: 1 };
  for (let i = 0; i < levels; i++) filter = { any: [filter] };
  return filter;
}

describe("default policy", () => {
  it("lets a member read public and internal documents of their org", () => {
    const d = decide(policy, input({ org_id: "o1", roles: ["member"], scope: ["documents:read"] }));
    expect(d).toMatchObject({ effect: "allow", matched: ["documents.members-read"], reason: "allowed" });
    expect(allowedFilter(d)).toEqual({ org_id: "o1", classification: { in: ["public", "internal"] } });
  });

  it("adds confidential for owners, combining filters with any", () => {
    const d = decide(policy, input({ org_id: "o1", roles: ["owner"], scope: ["documents:read"] }));
    expect(d.effect).toBe("allow");
    expect(d.matched).toEqual(["documents.members-read", "documents.admins-read-confidential"]);
    expect(allowedFilter(d)).toEqual({
      any: [
        { org_id: "o1", classification: { in: ["public", "internal"] } },
        { org_id: "o1", classification: { in: ["confidential"] } },
      ],
    });
  });

  it("denies explicitly without the scope, even for an owner", () => {
    const d = decide(policy, input({ org_id: "o1", roles: ["owner"], scope: [] }));
    expect(d).toMatchObject({ effect: "deny", reason: "explicit_deny", matched: ["documents.require-scope"] });
    expect("filter" in d).toBe(false);
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

  it("allows the demo echo for members with the scope, with the explicit everything-filter {}", () => {
    const d = decide(
      policy,
      input({ org_id: "o1", roles: ["member"], scope: ["documents:read"] }, "read", "demo-echo"),
    );
    expect(d).toMatchObject({ effect: "allow", matched: ["demo-echo.members-read"] });
    expect(allowedFilter(d)).toEqual({});
    expect(decide(policy, input({ org_id: "o1", scope: [] }, "read", "demo-echo")).effect).toBe("deny");
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

describe("filters: one contract for the PDP and the downstream", () => {
  const rule = { id: "r", effect: "allow", resource: "documents", actions: ["read"] } as const;

  it("an allow without a filter template carries {} (everything the route exposes), also beside others", () => {
    const p = compilePolicy({
      format: 1,
      rules: [
        { ...rule, id: "all" },
        { ...rule, id: "some", filter: { org_id: { var: "subject.org_id" } } },
      ],
    });
    const d = decide(p, input({ org_id: "o1" }));
    expect(d.matched).toEqual(["all", "some"]);
    expect(allowedFilter(d)).toEqual({});
    expect(parseDataFilter(JSON.stringify(allowedFilter(d)))).toEqual({});
  });

  it("compiles filters up to MAX_FILTER_DEPTH and refuses deeper ones, like parseDataFilter", () => {
    expect(
      policyErrorCode({ format: 1, rules: [{ ...rule, filter: nestedFilter(MAX_FILTER_DEPTH) }] }),
    ).toBeUndefined();
    expect(policyErrorCode({ format: 1, rules: [{ ...rule, filter: nestedFilter(MAX_FILTER_DEPTH + 1) }] })).toBe(
      "ERR_POLICY_TOO_LARGE",
    );
    expect(parseDataFilter(JSON.stringify(nestedFilter(MAX_FILTER_DEPTH)))).toBeDefined();
    expect(parseDataFilter(JSON.stringify(nestedFilter(MAX_FILTER_DEPTH + 1)))).toBeUndefined();
  });

  it("combining allows never makes a filter deeper than the downstream accepts", () => {
    const p = compilePolicy({
      format: 1,
      rules: [
        { ...rule, id: "deep", filter: nestedFilter(MAX_FILTER_DEPTH) },
        { ...rule, id: "flat", filter: { b: 2 } },
      ],
    });
    const filter = allowedFilter(decide(p, input({})));
    expect(parseDataFilter(JSON.stringify(filter))).toEqual(filter);
    expect(matchesFilter({ a: 1 }, filter)).toBe(true);
    expect(matchesFilter({ b: 2 }, filter)).toBe(true);
    expect(matchesFilter({ c: 3 }, filter)).toBe(false);
  });

  it("refuses lists, objects and non-finite numbers where a scalar belongs, and scalars where in needs a list, at compile time", () => {
    const bad: unknown[] = [
      { org_id: ["o1", "o2"] },
      { org_id: { nested: "x" } },
      { org_id: { var: "subject.org_id", extra: 1 } },
      { classification: { in: "public" } },
      { classification: { in: ["public", { x: 1 }] } },
      { classification: { in: ["public"], also: 1 } },
      { any: [] },
    ];
    for (const filter of bad) {
      expect(policyErrorCode({ format: 1, rules: [{ ...rule, filter }] }), JSON.stringify(filter)).toBe(
        "ERR_POLICY_SHAPE",
      );
    }
  });

  it("does not allow when an attribute holds the wrong kind at decision time", () => {
    const p = compilePolicy({
      format: 1,
      rules: [{ ...rule, filter: { org_id: { var: "subject.org_id" }, role: { in: { var: "subject.roles" } } } }],
    });
    expect(allowedFilter(decide(p, input({ org_id: "o1", roles: ["member"] })))).toEqual({
      org_id: "o1",
      role: { in: ["member"] },
    });
    // A list where a scalar belongs, a scalar where a list belongs, and a
    // value no claim could hold (an object smuggled into the attributes).
    const smuggled = { nested: true } as unknown as string;
    for (const subject of [
      { org_id: ["o1", "o2"], roles: ["member"] },
      { org_id: "o1", roles: "member" },
      { org_id: smuggled, roles: ["member"] },
      { org_id: "o1", roles: [smuggled] },
    ]) {
      expect(decide(p, input(subject)), JSON.stringify(subject)).toMatchObject({
        effect: "deny",
        reason: "no_matching_allow",
      });
    }
  });

  it("parseDataFilter refuses field names the compiler would refuse", () => {
    expect(parseDataFilter('{"__proto__":"x"}')).toBeUndefined();
    expect(parseDataFilter('{"Org-Id":"x"}')).toBeUndefined();
    expect(parseDataFilter('{"org_id":"x"}')).toEqual({ org_id: "x" });
  });
});
