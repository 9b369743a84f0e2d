import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../shared/policy/compile-policy.ts";
import { decide } from "../../shared/policy/decide.ts";
import { MAX_FILTER_DEPTH, matchesFilter, parseDataFilter } from "../../shared/policy/filter.ts";
import { POLICY_LIMITS } from "../../shared/policy/limits.ts";
import type { FilterTemplate } from "../../shared/policy/types.ts";
import { DEFAULT_POLICY } from "../../shared/policy/default-policy.ts";
import { allowedFilter, compileError, policyOf, request, rule, ruleError } from "./policy-fixtures.ts";

const policy = compilePolicy(DEFAULT_POLICY);

/** `{ any: [ { any: [ … { a: 1 } ] } ] }`, `levels` deep. */
function nestedFilter(levels: number): FilterTemplate {
  let filter: FilterTemplate = { a: 1 };
  for (let i = 0; i < levels; i++) filter = { any: [filter] };
  return filter;
}

describe("compilePolicy: every error code, with the path of the offending part", () => {
  it("ERR_POLICY_FORMAT: anything but format 2", () => {
    expect(compileError({ format: 1, rules: [] })).toMatchObject({ code: "ERR_POLICY_FORMAT", path: "$.format" });
    expect(compileError({ rules: [] })?.code).toBe("ERR_POLICY_FORMAT");
  });

  it("ERR_POLICY_SHAPE: the document, a rule, its fields", () => {
    expect(compileError(null)).toMatchObject({ code: "ERR_POLICY_SHAPE", path: "$" });
    expect(compileError({ format: 2, rules: {} })).toMatchObject({ code: "ERR_POLICY_SHAPE", path: "$.rules" });
    expect(compileError({ format: 2, rules: [], extra: 1 })).toMatchObject({ path: "$.extra" });
    expect(compileError({ format: 2, rules: ["r"] })).toMatchObject({ code: "ERR_POLICY_SHAPE", path: "$.rules[0]" });
    const cases: [Record<string, unknown>, string][] = [
      [{ effect: "maybe" }, "$.rules[0].effect"],
      [{ id: "has space" }, "$.rules[0].id"],
      [{ id: "x".repeat(POLICY_LIMITS.nameLength + 1) }, "$.rules[0].id"],
      [{ resource: "" }, "$.rules[0].resource"],
      [{ resource: ["documents"] }, "$.rules[0].resource"],
      [{ actions: [] }, "$.rules[0].actions"],
      [{ actions: "read" }, "$.rules[0].actions"],
      [{ actions: ["read", "*"] }, "$.rules[0].actions"],
      [{ actions: ["read", 7] }, "$.rules[0].actions[1]"],
      // A misspelt `when` would leave a rule that always applies.
      [{ condition: "false" }, "$.rules[0].condition"],
      [{ when: "" }, "$.rules[0].when"],
      [{ when: true }, "$.rules[0].when"],
      [{ description: 7 }, "$.rules[0].description"],
      [{ effect: "deny", filter: { a: 1 } }, "$.rules[0].filter"],
    ];
    for (const [partial, path] of cases) {
      expect(ruleError(partial), JSON.stringify(partial)).toEqual({ code: "ERR_POLICY_SHAPE", path });
    }
  });

  it("ERR_POLICY_DUPLICATE_RULE", () => {
    const r = rule({ id: "r" });
    expect(compileError({ format: 2, rules: [r, { ...r, actions: ["write"] }] })).toMatchObject({
      code: "ERR_POLICY_DUPLICATE_RULE",
      path: "$.rules[1].id",
    });
  });

  it("ERR_POLICY_SYNTAX: not CEL", () => {
    for (const when of ["subject.id ==", "(true", "subject.roles.exists(1, true)", "a ? b", "'unterminated"]) {
      expect(ruleError({ when }), when).toEqual({ code: "ERR_POLICY_SYNTAX", path: "$.rules[0].when" });
    }
  });

  it("ERR_POLICY_UNKNOWN_ATTRIBUTE: variables and fields the language does not define", () => {
    for (const when of [
      "env.SECRET == 1",
      'subject.tier == "gold"',
      "has(subject.password)",
      'actor.roles == ["x"]',
      'context.headers == ""',
      "subject.constructor == 1",
      'google.protobuf.Timestamp == ""',
      "r",
    ]) {
      expect(ruleError({ when }), when).toEqual({ code: "ERR_POLICY_UNKNOWN_ATTRIBUTE", path: "$.rules[0].when" });
    }
  });

  it("ERR_POLICY_UNKNOWN_FUNCTION: outside the documented set, matches included (no backtracking regexes)", () => {
    for (const when of [
      'subject.id.matches("^(a+)+$")',
      "f(subject.id)",
      'subject.id.split(",") == []',
      "cel.bind(x, 1, x == 1)",
      "type(subject.id) == string",
      'dyn(subject.id) == "u1"',
    ]) {
      expect(ruleError({ when }), when).toEqual({ code: "ERR_POLICY_UNKNOWN_FUNCTION", path: "$.rules[0].when" });
    }
  });

  it("ERR_POLICY_TYPE: duration() of anything but a short literal (its parser backtracks in cubic time)", () => {
    for (const when of [
      `duration("${"9".repeat(1500)}") > duration("1s")`,
      'duration(context.path) > duration("1s")',
      'duration(string(subject.id)) > duration("1s")',
      'duration("1h", "2h") > duration("1s")',
      'duration("1d") > duration("1s")',
      'duration("1h2m3s4ms5us6ns7h") > duration("1s")',
    ]) {
      expect(ruleError({ when }), when.slice(0, 60)).toEqual({ code: "ERR_POLICY_TYPE", path: "$.rules[0].when" });
    }
    for (const when of ['duration("1h30m") > duration("-1.5s")', 'duration("+300ms") < duration("2h45m")']) {
      expect(ruleError({ when }), when).toBeUndefined();
    }
  });

  it("ERR_POLICY_TYPE: not a bool, or operators on the wrong types", () => {
    for (const when of [
      "subject.id",
      "subject.roles",
      "1 + 1",
      "subject.id == 1",
      '"owner" in subject.id',
      "context.dpop_bound + 1 == 2",
      "size(context.dpop_bound) == 1",
      "context.time == 1",
      "b'abc' == b'abc'",
    ]) {
      expect(ruleError({ when }), when).toEqual({ code: "ERR_POLICY_TYPE", path: "$.rules[0].when" });
    }
  });

  it("ERR_POLICY_RESERVED_NAME: a macro variable may not hide a variable or another macro's", () => {
    for (const when of ["subject.roles.exists(subject, true)", "subject.roles.all(action, action != '')"]) {
      expect(ruleError({ when }), when).toEqual({ code: "ERR_POLICY_RESERVED_NAME", path: "$.rules[0].when" });
    }
  });

  it("ERR_POLICY_ACTOR_FILTER: an actor rule is a gate, and a filter never reads the actor", () => {
    expect(ruleError({ when: 'actor.id != ""', filter: { org_id: "o1" } })).toEqual({
      code: "ERR_POLICY_ACTOR_FILTER",
      path: "$.rules[0].filter",
    });
    expect(ruleError({ filter: { agent: { attr: "actor.id" } } })).toEqual({
      code: "ERR_POLICY_ACTOR_FILTER",
      path: "$.rules[0].filter.agent.attr",
    });
  });

  it("ERR_POLICY_TOO_LARGE: rules, expression length, nodes, depth, list and map literals, nested macros", () => {
    const many = Array.from({ length: POLICY_LIMITS.rules + 1 }, (_, i) => rule({ id: `r${i}` }));
    expect(compileError({ format: 2, rules: many })).toMatchObject({ code: "ERR_POLICY_TOO_LARGE", path: "$.rules" });
    const manyActions = Array.from({ length: POLICY_LIMITS.actionsPerRule + 1 }, (_, i) => `a${i}`);
    const long = `subject.id == "${"x".repeat(POLICY_LIMITS.expressionLength)}"`;
    const wide = Array.from({ length: POLICY_LIMITS.expressionNodes }, () => "true").join(" || ");
    const deep = `${"(".repeat(POLICY_LIMITS.expressionDepth + 1)}true${")".repeat(POLICY_LIMITS.expressionDepth + 1)}`;
    const list = `subject.id in [${Array.from({ length: POLICY_LIMITS.listItems + 1 }, (_, i) => `"v${i}"`)}]`;
    const map = `size({${Array.from({ length: POLICY_LIMITS.mapEntries + 1 }, (_, i) => `"k${i}": 1`)}}) > 0`;
    const nested = "subject.roles.exists(r, subject.scope.exists(s, s == r))";
    for (const [partial, path] of [
      [{ actions: manyActions }, "$.rules[0].actions"],
      [{ when: long }, "$.rules[0].when"],
      [{ when: wide }, "$.rules[0].when"],
      [{ when: deep }, "$.rules[0].when"],
      [{ when: list }, "$.rules[0].when"],
      [{ when: map }, "$.rules[0].when"],
      [{ when: nested }, "$.rules[0].when"],
      [{ filter: nestedFilter(MAX_FILTER_DEPTH + 1) }, `$.rules[0].filter${".any[0]".repeat(MAX_FILTER_DEPTH + 1)}`],
    ] as const) {
      expect(ruleError(partial), JSON.stringify(partial).slice(0, 80)).toEqual({ code: "ERR_POLICY_TOO_LARGE", path });
    }
  });

  it("compiles the limits themselves: a macro beside a macro, lists and depth at the cap", () => {
    const atCap = `subject.id in [${Array.from({ length: POLICY_LIMITS.listItems }, (_, i) => `"v${i}"`)}]`;
    for (const when of [
      atCap,
      'subject.roles.exists(r, r == "owner") && subject.scope.all(s, s != "")',
      'subject.roles.filter(r, r != "").exists(r, r == "owner")',
    ]) {
      expect(ruleError({ when }), when).toBeUndefined();
    }
  });
});

describe("filters: one contract for the PDP and the downstream", () => {
  it("fills attribute references in, scalars and lists", () => {
    const p = policyOf(
      rule({
        id: "r",
        filter: {
          org_id: { attr: "subject.org_id" },
          role: { in: { attr: "subject.roles" } },
          owner: { attr: "subject.id" },
          kind: { attr: "resource.type" },
          verb: { attr: "action" },
          bound: { attr: "context.dpop_bound" },
          tier: { attr: "resource.attributes.tier" },
          public: true,
          level: 3,
          none: null,
          labels: { in: ["a", 1, false, null] },
        },
      }),
    );
    const input = request({ roles: ["member", "auditor"] });
    input.resource.attributes = { tier: 2 };
    expect(allowedFilter(decide(p, input))).toEqual({
      org_id: "o1",
      role: { in: ["member", "auditor"] },
      owner: "u1",
      kind: "documents",
      verb: "read",
      bound: false,
      tier: 2,
      public: true,
      level: 3,
      none: null,
      labels: { in: ["a", 1, false, null] },
    });
  });

  it("an allow without a filter template carries {} (everything the route exposes), also beside others", () => {
    const p = policyOf(rule({ id: "all" }), rule({ id: "some", filter: { org_id: { attr: "subject.org_id" } } }));
    const d = decide(p, request());
    expect(d.matched).toEqual(["all", "some"]);
    expect(allowedFilter(d)).toEqual({});
    expect(parseDataFilter(JSON.stringify(allowedFilter(d)))).toEqual({});
  });

  it("compiles filters up to MAX_FILTER_DEPTH and refuses deeper ones, like parseDataFilter", () => {
    expect(ruleError({ filter: nestedFilter(MAX_FILTER_DEPTH) })).toBeUndefined();
    expect(ruleError({ filter: nestedFilter(MAX_FILTER_DEPTH + 1) })?.code).toBe("ERR_POLICY_TOO_LARGE");
    expect(parseDataFilter(JSON.stringify(nestedFilter(MAX_FILTER_DEPTH)))).toBeDefined();
    expect(parseDataFilter(JSON.stringify(nestedFilter(MAX_FILTER_DEPTH + 1)))).toBeUndefined();
  });

  it("combining allows never makes a filter deeper than the downstream accepts", () => {
    const p = policyOf(
      rule({ id: "deep", filter: nestedFilter(MAX_FILTER_DEPTH) }),
      rule({ id: "flat", filter: { b: 2 } }),
    );
    const filter = allowedFilter(decide(p, request()));
    expect(parseDataFilter(JSON.stringify(filter))).toEqual(filter);
    expect(matchesFilter({ a: 1 }, filter)).toBe(true);
    expect(matchesFilter({ b: 2 }, filter)).toBe(true);
    expect(matchesFilter({ c: 3 }, filter)).toBe(false);
  });

  it("refuses at compile time what is not a scalar where a scalar belongs, or not a list under in", () => {
    const shape: unknown[] = [
      { org_id: ["o1", "o2"] },
      { org_id: { nested: "x" } },
      { org_id: { attr: "subject.org_id", extra: 1 } },
      { classification: { in: "public" } },
      { classification: { in: ["public", { x: 1 }] } },
      { classification: { in: ["public"], also: 1 } },
      { "Org-Id": "x" },
      { any: [] },
      { any: [{ a: 1 }], b: 2 },
      "org_id",
    ];
    for (const filter of shape) {
      expect(ruleError({ filter })?.code, JSON.stringify(filter)).toBe("ERR_POLICY_SHAPE");
    }
    const types: unknown[] = [
      { org_id: { attr: "subject.roles" } },
      { org_id: { in: { attr: "subject.org_id" } } },
      { at: { attr: "context.time" } },
      { attrs: { attr: "resource.attributes" } },
      { verb: { in: { attr: "action" } } },
    ];
    for (const filter of types) {
      expect(ruleError({ filter })?.code, JSON.stringify(filter)).toBe("ERR_POLICY_TYPE");
    }
    for (const attr of ["subject.tier", "env.SECRET", "subject", "subject.org_id.x", "resource.attributes."]) {
      expect(ruleError({ filter: { a: { attr } } })?.code, attr).toBe("ERR_POLICY_UNKNOWN_ATTRIBUTE");
    }
  });

  it("does not allow when an open-ended attribute holds the wrong kind at decision time, and says which rule", () => {
    const p = policyOf(
      rule({
        id: "r",
        filter: { tier: { attr: "resource.attributes.tier" }, tag: { in: { attr: "resource.attributes.tags" } } },
      }),
    );
    const withAttributes = (attributes: Record<string, unknown>) => {
      const input = request();
      input.resource.attributes = attributes as never;
      return decide(p, input);
    };
    expect(allowedFilter(withAttributes({ tier: "gold", tags: ["a", 2] }))).toEqual({
      tier: "gold",
      tag: { in: ["a", 2] },
    });
    for (const attributes of [{ tags: ["a"] }, { tier: ["gold"], tags: ["a"] }, { tier: "gold", tags: "a" }]) {
      expect(withAttributes(attributes), JSON.stringify(attributes)).toMatchObject({
        effect: "deny",
        reason: "no_matching_allow",
        errored: ["r"],
      });
    }
  });

  it("parseDataFilter refuses field names the compiler would refuse", () => {
    expect(parseDataFilter('{"__proto__":"x"}')).toBeUndefined();
    expect(parseDataFilter('{"Org-Id":"x"}')).toBeUndefined();
    expect(parseDataFilter('{"org_id":"x"}')).toEqual({ org_id: "x" });
    expect(parseDataFilter(null)).toBeUndefined();
    expect(parseDataFilter("not json")).toBeUndefined();
    expect(parseDataFilter('{"org_id":{"$ne":"x"}}')).toBeUndefined();
  });
});
