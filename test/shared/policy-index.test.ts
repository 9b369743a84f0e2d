import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Bindings, toBindings } from "../../shared/policy/cel-environment.ts";
import { ANY, type CompiledPolicy, type CompiledRule, compilePolicy } from "../../shared/policy/compile-policy.ts";
import { type Decision, type DenyReason, decide } from "../../shared/policy/decide.ts";
import type { DataFilter } from "../../shared/policy/filter.ts";
import type { DecisionInput, FilterTemplate, PolicyRule } from "../../shared/policy/types.ts";
import { policyOf, request, rule } from "./policy-fixtures.ts";

/**
 * The naive evaluator: every rule of the document, in order, matched on
 * resource type and action by hand, and the semantics of docs/policy.md
 * written out again without the index or any of decide()'s shortcuts.
 */
function naiveDecide(policy: CompiledPolicy, input: DecisionInput, id: string): Decision {
  const bindings = toBindings(input);
  const delegated = input.actor !== undefined;
  const holds = (r: CompiledRule, b: Bindings): boolean | "error" => {
    const { condition, broken } = r.body();
    if (broken) return "error";
    try {
      return condition ? condition(b) : true;
    } catch {
      return "error";
    }
  };
  const results = policy.rules
    .filter((r) => r.resource === ANY || r.resource === input.resource.type)
    .filter((r) => r.actions.includes(ANY) || r.actions.includes(input.action))
    .filter((r) => delegated || !r.body().namesActor)
    .map((r) => ({ rule: r, holds: holds(r, bindings) }));
  const errored = results.filter((x) => x.holds === "error").map((x) => x.rule);
  const deny = (reason: DenyReason, matched: CompiledRule[], err: CompiledRule[]): Decision => ({
    id,
    effect: "deny",
    reason,
    matched: matched.map((r) => r.id),
    errored: err.map((r) => r.id),
  });
  const denies = results.filter((x) => x.rule.effect === "deny");
  const heldDenies = denies.filter((x) => x.holds === true).map((x) => x.rule);
  const erroredDenies = errored.filter((r) => r.effect === "deny");
  if (heldDenies.length > 0) return deny("explicit_deny", heldDenies, erroredDenies);
  if (erroredDenies.length > 0) return deny("condition_error", [], erroredDenies);
  const allows = results.filter((x) => x.rule.effect === "allow" && x.holds === true).map((x) => x.rule);
  const subjectAllows: { rule: CompiledRule; filter: DataFilter }[] = [];
  const unbuilt: CompiledRule[] = [];
  for (const r of allows.filter((a) => !a.body().namesActor)) {
    const build = r.body().filter;
    const filter = build ? build(bindings) : {};
    if (filter === undefined) unbuilt.push(r);
    else subjectAllows.push({ rule: r, filter });
  }
  const allErrored = [...errored, ...unbuilt].sort((a, b) => a.position - b.position);
  if (subjectAllows.length === 0) return deny("no_matching_allow", [], allErrored);
  const actorAllows = allows.filter((a) => a.body().namesActor);
  if (delegated && actorAllows.length === 0) {
    return deny(
      "actor_not_permitted",
      subjectAllows.map((a) => a.rule),
      allErrored,
    );
  }
  const filters = subjectAllows.map((a) => a.filter);
  const filter: DataFilter = filters.some((f) => Object.keys(f).length === 0)
    ? {}
    : filters.length === 1
      ? (filters[0] as DataFilter)
      : { any: filters.flatMap((f) => ("any" in f ? (f.any as DataFilter[]) : [f])) };
  return {
    id,
    effect: "allow",
    reason: "allowed",
    matched: [...subjectAllows.map((a) => a.rule), ...actorAllows]
      .sort((a, b) => a.position - b.position)
      .map((r) => r.id),
    errored: allErrored.map((r) => r.id),
    filter,
  };
}

const TYPES = ["documents", "reports", "mcp"];
const ACTIONS = ["read", "write", "delete"];

/** Conditions over every variable, some naming the actor, one raising when `tier` is absent. */
const SUBJECT_ATOMS = [
  "true",
  "false",
  '"owner" in subject.roles',
  '"admin" in subject.roles',
  '"documents:read" in subject.scope',
  'subject.org_id == "o1"',
  'subject.id == "u1"',
  'action == "read"',
  'resource.type == "documents"',
  'context.method == "GET"',
  "context.dpop_bound",
  "context.delegated",
  'resource.attributes.tier == "gold"',
  'subject.roles.exists(r, r.startsWith("a"))',
];
const ACTOR_ATOMS = ['actor.client_id == "mac_a"', '"mac_b" in actor.chain', 'actor.id != ""'];

const atom = fc.constantFrom(...SUBJECT_ATOMS, ...ACTOR_ATOMS);
const { condition } = fc.letrec<{ condition: string }>((tie) => ({
  condition: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    atom,
    fc.tuple(tie("condition"), tie("condition")).map(([a, b]) => `(${a}) && (${b})`),
    fc.tuple(tie("condition"), tie("condition")).map(([a, b]) => `(${a}) || (${b})`),
    tie("condition").map((a) => `!(${a})`),
  ),
}));

const filterTemplate: fc.Arbitrary<FilterTemplate> = fc.constantFrom<FilterTemplate>(
  { org_id: { attr: "subject.org_id" } },
  { classification: { in: ["public", "internal"] } },
  { role: { in: { attr: "subject.roles" } } },
  // Wrong kind when the request's tier is a list: the rule then does not allow.
  { tier: { attr: "resource.attributes.tier" } },
  { any: [{ a: 1 }, { any: [{ b: 2 }] }] },
  {},
);

const ruleShape = fc.record(
  {
    effect: fc.constantFrom<"allow" | "deny">("allow", "deny"),
    resource: fc.constantFrom(...TYPES, ANY),
    actions: fc.oneof(fc.constant<string[]>([ANY]), fc.subarray(ACTIONS, { minLength: 1 })),
    when: condition,
    filter: filterTemplate,
  },
  { requiredKeys: ["effect", "resource", "actions"] },
);

const document = fc.array(ruleShape, { minLength: 0, maxLength: 24 }).map((shapes) => ({
  format: 2 as const,
  rules: shapes.map((shape, i): PolicyRule => {
    const { filter, ...rest } = shape;
    // Filters belong on allow rules that do not name the actor (the compiler refuses the rest).
    const filterable = shape.effect === "allow" && !(shape.when ?? "").includes("actor.");
    return { id: `r${i}`, ...rest, ...(filter && filterable ? { filter } : {}) };
  }),
}));

const decisionInput: fc.Arbitrary<DecisionInput> = fc
  .record({
    id: fc.constantFrom("u1", "u2"),
    org_id: fc.constantFrom("o1", "o2"),
    roles: fc.subarray(["owner", "admin", "member", "auditor"]),
    scope: fc.subarray(["documents:read", "openid"]),
    actor: fc.option(
      fc.record({ id: fc.constantFrom("mac_a", "mac_b"), chain: fc.subarray(["mac_a", "mac_b", "mac_c"]) }),
      { nil: undefined },
    ),
    type: fc.constantFrom(...TYPES, "other"),
    tier: fc.option(fc.constantFrom<string | string[]>("gold", "silver", ["gold"]), { nil: undefined }),
    action: fc.constantFrom(...ACTIONS, "list"),
    method: fc.constantFrom("GET", "POST"),
    dpop: fc.boolean(),
  })
  .map((r) => ({
    subject: { id: r.id, org_id: r.org_id, client_id: "c", roles: r.roles, scope: r.scope },
    ...(r.actor ? { actor: { id: r.actor.id, client_id: r.actor.id, chain: [r.actor.id, ...r.actor.chain] } } : {}),
    resource: { type: r.type, ...(r.tier === undefined ? {} : { attributes: { tier: r.tier } }) },
    action: r.action,
    context: { method: r.method, path: "/x", dpop_bound: r.dpop, time: new Date("2026-11-29T10:30:00Z") },
  }));

describe("the index decides exactly as evaluating every rule would, compiled eagerly or lazily", () => {
  it("on generated policies and requests (property)", () => {
    fc.assert(
      fc.property(document, fc.array(decisionInput, { minLength: 1, maxLength: 8 }), (doc, inputs) => {
        const policy = compilePolicy(doc);
        const lazy = compilePolicy(doc, { lazy: true });
        for (const input of inputs) {
          const naive = naiveDecide(policy, input, "d");
          expect(decide(policy, input, "d")).toEqual(naive);
          expect(decide(lazy, input, "d")).toEqual(naive);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("the index", () => {
  it("holds a rule under its own (resource type, action) keys, and `*` rules once under `*`, never copied", () => {
    const rules = Array.from({ length: 500 }, (_, i) =>
      rule({ id: `r${i}`, resource: `type${i}`, actions: ["read", "write"] }),
    );
    const p = policyOf(
      ...rules,
      rule({ id: "any-type", resource: ANY, actions: ["read"] }),
      rule({ id: "any-action", resource: "type7", actions: [ANY] }),
      rule({ id: "anything", effect: "deny", resource: ANY, actions: [ANY], when: 'subject.id == "blocked"' }),
    );
    expect(
      p.index
        .get("type7")
        ?.get("read")
        ?.allows.map((r) => r.id),
    ).toEqual(["r7"]);
    expect(
      p.index
        .get("type7")
        ?.get(ANY)
        ?.allows.map((r) => r.id),
    ).toEqual(["any-action"]);
    expect(
      p.index
        .get(ANY)
        ?.get("read")
        ?.allows.map((r) => r.id),
    ).toEqual(["any-type"]);
    expect(
      p.index
        .get(ANY)
        ?.get(ANY)
        ?.denies.map((r) => r.id),
    ).toEqual(["anything"]);
    expect(p.index.get("type8")?.size).toBe(2);
    expect(decide(p, request({}, { type: "type7" })).matched).toEqual(["r7", "any-type", "any-action"]);
    expect(decide(p, request({}, { type: "type7", action: "delete" })).matched).toEqual(["any-action"]);
    expect(decide(p, request({}, { type: "unlisted" })).matched).toEqual(["any-type"]);
    expect(decide(p, request({ id: "blocked" }, { type: "type9" })).reason).toBe("explicit_deny");
  });

  it("compiles a repeated condition once and shares it", () => {
    const when = '"documents:read" in subject.scope';
    const p = policyOf(rule({ id: "a", when }), rule({ id: "b", resource: "reports", when }));
    expect(p.rules[0]?.body().condition).toBe(p.rules[1]?.body().condition);
  });
});

describe("lazy compilation (a published snapshot in the gateway)", () => {
  const documentWith = (when: string) => ({
    format: 2,
    rules: [
      rule({ id: "reports.broken", effect: "deny", resource: "reports", when }),
      rule({ id: "reports.allow", resource: "reports" }),
      rule({ id: "payroll.broken", resource: "payroll", when }),
      rule({ id: "payroll.allow", resource: "payroll", filter: { org_id: { attr: "subject.org_id" } } }),
      rule({ id: "documents.allow" }),
    ],
  });

  it("still refuses a document of the wrong shape at once", () => {
    expect(() => compilePolicy({ format: 2, rules: [{ id: "r" }] }, { lazy: true })).toThrow(/effect/);
    expect(() => compilePolicy({ format: 1, rules: [] }, { lazy: true })).toThrow(/format/);
  });

  it("compiles a condition only when a request reaches its bucket", () => {
    const p = compilePolicy(documentWith("subject.nope == 1"), { lazy: true });
    expect(decide(p, request()).matched).toEqual(["documents.allow"]);
    expect(() => compilePolicy(documentWith("subject.nope == 1"))).toThrow(/subject\.nope/);
  });

  it("decides a rule that no longer compiles as one that raised: a deny denies, an allow does not allow", () => {
    const p = compilePolicy(documentWith("subject.nope == 1"), { lazy: true });
    expect(decide(p, request({}, { type: "reports" }))).toMatchObject({
      effect: "deny",
      reason: "condition_error",
      errored: ["reports.broken"],
    });
    expect(decide(p, request({}, { type: "payroll" }))).toMatchObject({
      effect: "allow",
      matched: ["payroll.allow"],
      errored: ["payroll.broken"],
    });
  });
});
