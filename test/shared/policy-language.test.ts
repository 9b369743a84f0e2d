import { describe, expect, it } from "vitest";
import { decide } from "../../shared/policy/decide.ts";
import { POLICY_LIMITS } from "../../shared/policy/limits.ts";
import type { DecisionInput } from "../../shared/policy/types.ts";
import { AGENT, outcome, policyOf, request, rule } from "./policy-fixtures.ts";

// Every operator, function, macro and attribute docs/policy.md promises,
// run through compilePolicy and decide() in workerd: the library must parse,
// check and evaluate them here without code generation (workerd forbids
// eval and new Function).

/** Each expression must hold on `input`; its negation must not. */
function expectHolds(expressions: string[], input: DecisionInput = request()) {
  for (const when of expressions) {
    expect(outcome(when, input), when).toBe("true");
    expect(outcome(`!(${when})`, input), `!(${when})`).toBe("false");
  }
}

const AT = new Date("2026-11-29T10:30:00Z"); // a Sunday; 11:30 in Berlin

function rich(): DecisionInput {
  return request(
    { id: "u1", roles: ["member", "auditor"], scope: ["documents:read", "openid"] },
    {
      context: {
        method: "GET",
        path: "/api/documents/42",
        time: AT,
        ip: "203.0.113.7",
        dpop_bound: true,
        acr: "urn:mono-auth:acr:mfa",
        amr: ["pwd", "otp"],
        mcp_method: "tools/call",
        mcp_tool: "search",
      },
    },
  );
}

describe("operators", () => {
  it("equality and ordering on strings, ints, doubles, bools", () => {
    expectHolds([
      'subject.id == "u1"',
      'subject.id != "u2"',
      '"a" < "b"',
      '"b" >= "b"',
      "1 < 2",
      "2 <= 2",
      "3 > 2",
      "2.5 >= 2.5",
      "true == !false",
      "null == null",
    ]);
  });

  it("&&, ||, !, and ?: (with CEL's short-circuit past errors)", () => {
    expectHolds([
      'subject.id == "u1" && subject.org_id == "o1"',
      'subject.id == "nobody" || subject.org_id == "o1"',
      '!(subject.id == "nobody")',
      'subject.id == "u1" ? true : false',
      "(false && 1 / 0 == 1) == false",
      "1 / 0 == 1 || true",
    ]);
  });

  it("in: list membership and map keys", () => {
    expectHolds(
      [
        '"member" in subject.roles',
        '!("owner" in subject.roles)',
        'subject.id in ["u1", "u2"]',
        '"k" in {"k": 1}',
        "2 in [1, 2, 3]",
      ],
      rich(),
    );
  });

  it("arithmetic on ints and doubles, string and list concatenation, unary minus", () => {
    expectHolds(
      [
        "1 + 2 == 3",
        "5 - 7 == -2",
        "6 * 7 == 42",
        "7 / 2 == 3",
        "7 % 3 == 1",
        "1.5 + 1.5 == 3.0",
        "-(3) == -3",
        'subject.id + "@" + subject.org_id == "u1@o1"',
        "size(subject.roles + subject.scope) == 4",
      ],
      rich(),
    );
  });

  it("indexing lists and maps, selecting fields", () => {
    expectHolds(['subject.roles[0] == "member"', '{"a": "x"}["a"] == "x"', '[["nested"]][0][0] == "nested"'], rich());
  });
});

describe("functions and macros", () => {
  it("size() on strings, lists and maps, as a function and a method", () => {
    expectHolds(
      [
        'size("abc") == 3',
        '"abc".size() == 3',
        "size(subject.roles) == 2",
        "subject.roles.size() == 2",
        'size({"a": 1}) == 1',
      ],
      rich(),
    );
  });

  it("conversions: int(), double(), string()", () => {
    expectHolds([
      'int("42") == 42',
      "int(2.9) == 2",
      "double(1) == 1.0",
      'string(42) == "42"',
      'string(true) == "true"',
    ]);
  });

  it("string methods: contains, startsWith, endsWith, lowerAscii, upperAscii", () => {
    expectHolds(
      [
        'context.path.startsWith("/api/documents/")',
        'context.path.endsWith("/42")',
        'context.path.contains("documents")',
        '"MiXeD".lowerAscii() == "mixed"',
        '"MiXeD".upperAscii() == "MIXED"',
      ],
      rich(),
    );
  });

  it("has() on an open-ended attribute, never an error", () => {
    const input = rich();
    input.resource.attributes = { tier: "gold" };
    expectHolds(["has(resource.attributes.tier)", "!has(resource.attributes.owner)"], input);
  });

  it("macros over lists: all, exists, exists_one, map, filter", () => {
    expectHolds(
      [
        'subject.roles.all(r, r != "")',
        'subject.roles.exists(r, r == "auditor")',
        'subject.scope.exists_one(s, s.startsWith("documents:"))',
        'subject.roles.map(r, r.upperAscii()) == ["MEMBER", "AUDITOR"]',
        'subject.roles.map(r, r != "member", r) == ["auditor"]',
        'subject.roles.filter(r, r.startsWith("a")) == ["auditor"]',
        "[].all(r, false)",
      ],
      rich(),
    );
  });

  it("lowerAscii and upperAscii fold beyond ASCII, as docs/policy.md warns (a known deviation from CEL)", () => {
    expectHolds(['"\u212Ab_read".lowerAscii() == "kb_read"', '"straße".upperAscii() == "STRASSE"']);
  });

  it("time: context.time against timestamp() and duration(), and its parts in UTC or an IANA zone", () => {
    expectHolds(
      [
        'context.time > timestamp("2026-01-01T00:00:00Z")',
        'context.time < timestamp("2027-01-01T00:00:00Z")',
        'context.time - timestamp("2026-11-29T10:00:00Z") == duration("30m")',
        'context.time + duration("1h") > context.time',
        'context.time - duration("24h") < context.time',
        "context.time.getFullYear() == 2026",
        "context.time.getMonth() == 10",
        "context.time.getDayOfMonth() == 28",
        "context.time.getDayOfWeek() == 0",
        "context.time.getHours() == 10",
        "context.time.getMinutes() == 30",
        'context.time.getHours("Europe/Berlin") == 11',
        'context.time.getHours("Pacific/Auckland") == 23',
        'context.time.getDayOfWeek("Pacific/Kiritimati") == 1',
        'context.time.getHours("UTC") >= 9 && context.time.getHours("UTC") < 17',
      ],
      rich(),
    );
  });

  it("context.time defaults to now", () => {
    const justBefore = new Date(Date.now() - 1000).toISOString();
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    expectHolds([`context.time > timestamp("${justBefore}") && context.time < timestamp("${inAnHour}")`]);
  });
});

describe("attributes", () => {
  it("subject, resource, action and context, each field of docs/policy.md", () => {
    expectHolds(
      [
        'subject.id == "u1" && subject.org_id == "o1" && subject.client_id == "mono-auth-web"',
        '"auditor" in subject.roles && "openid" in subject.scope',
        'resource.type == "documents" && action == "read"',
        'context.method == "GET" && context.path == "/api/documents/42"',
        'context.ip == "203.0.113.7" && context.dpop_bound && !context.delegated',
        'context.acr == "urn:mono-auth:acr:mfa" && "otp" in context.amr',
        'context.mcp_method == "tools/call" && context.mcp_tool == "search"',
      ],
      rich(),
    );
  });

  it('what a request lacks reads as empty: "", false, []', () => {
    expectHolds([
      'context.ip == "" && !context.dpop_bound && context.acr == "" && size(context.amr) == 0',
      'context.mcp_method == "" && context.mcp_tool == ""',
      "size(resource.attributes) == 0",
    ]);
  });

  it("resource.attributes: strings, whole numbers as int, others as double, bools, lists", () => {
    const input = request();
    input.resource.attributes = { tier: "gold", level: 3, ratio: 0.5, open: true, tags: ["a", "b"], none: null };
    expectHolds(
      [
        'resource.attributes.tier == "gold"',
        "resource.attributes.level == 3",
        "resource.attributes.level > 2",
        "resource.attributes.ratio < 1.0",
        "resource.attributes.open == true",
        '"b" in resource.attributes.tags',
        "resource.attributes.none == null",
      ],
      input,
    );
  });

  it("the actor, in a delegated request: id, client_id, chain", () => {
    const p = policyOf(
      rule({ id: "subject" }),
      rule({
        id: "actor",
        when: 'actor.id == "mac_agent" && actor.client_id == "mac_agent" && actor.chain == ["mac_agent"] && context.delegated',
      }),
    );
    expect(decide(p, request({}, { actor: AGENT })).matched).toEqual(["subject", "actor"]);
  });

  it("prototype names are not fields of anything", () => {
    const input = request();
    input.resource.attributes = { tier: "gold" };
    expect(outcome("has(resource.attributes.constructor) || has(resource.attributes.__proto__)", input)).toBe("false");
    expect(outcome('resource.attributes.toString == ""', input)).toBe("error");
  });
});

describe("evaluation errors fail closed", () => {
  it("an allow whose condition raises does not allow, and is named in errored", () => {
    for (const when of [
      "1 / 0 == 1",
      'resource.attributes.tier == "gold"',
      'int("x") == 1',
      'subject.roles[5] == "x"',
    ]) {
      expect(outcome(when), when).toBe("error");
    }
    const p = policyOf(rule({ id: "raises", when: "1 / 0 == 1" }), rule({ id: "fine" }));
    expect(decide(p, request())).toMatchObject({ effect: "allow", matched: ["fine"], errored: ["raises"] });
  });

  it("a deny whose condition raises denies (condition_error), whatever allows", () => {
    const p = policyOf(
      rule({ id: "tier-check", effect: "deny", when: 'resource.attributes.tier == "secret"' }),
      rule({ id: "everyone" }),
    );
    expect(decide(p, request())).toMatchObject({
      effect: "deny",
      reason: "condition_error",
      matched: [],
      errored: ["tier-check"],
    });
    const guarded = policyOf(
      rule({
        id: "tier-check",
        effect: "deny",
        when: 'has(resource.attributes.tier) && resource.attributes.tier == "secret"',
      }),
      rule({ id: "everyone" }),
    );
    expect(decide(guarded, request()).effect).toBe("allow");
  });

  it("a request over the input limits is denied without evaluating anything", () => {
    const p = policyOf(rule({ id: "everyone" }));
    const tooMany = Array.from({ length: POLICY_LIMITS.inputListItems + 1 }, (_, i) => `r${i}`);
    const tooLong = "/".repeat(POLICY_LIMITS.inputStringLength + 1);
    for (const input of [
      request({ roles: tooMany }),
      request({}, { context: { path: tooLong } }),
      request({}, { actor: { ...AGENT, chain: tooMany } }),
    ]) {
      expect(decide(p, input)).toMatchObject({ effect: "deny", reason: "input_too_large", matched: [] });
    }
    const wide = request();
    wide.resource.attributes = Object.fromEntries(
      Array.from({ length: POLICY_LIMITS.inputAttributes + 1 }, (_, i) => [`a${i}`, i]),
    );
    expect(decide(p, wide).reason).toBe("input_too_large");
    expect(decide(p, request({ roles: tooMany.slice(1) })).effect).toBe("allow");
  });
});
