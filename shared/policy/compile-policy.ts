import type { Bindings } from "./cel-environment.ts";
import { type CompiledCondition, compileCondition } from "./compile-condition.ts";
import { compileFilter, type FilterBuilder } from "./compile-filter.ts";
import { PolicyError } from "./errors.ts";
import { POLICY_LIMITS } from "./limits.ts";

/** A rule's `resource` or `actions` entry that matches every resource type or action. */
export const ANY = "*";

export interface CompiledRule {
  readonly id: string;
  /** Where the rule stands in the document: matched ids and combined filters follow this order. */
  readonly position: number;
  readonly effect: "allow" | "deny";
  /** A resource type, or ANY. */
  readonly resource: string;
  /** Actions, or [ANY]. */
  readonly actions: readonly string[];
  /** The compiled condition and filter; in a lazy policy, compiled on first call. */
  readonly body: () => RuleBody;
}

export interface RuleBody {
  /** The condition reads `actor`: it takes part only in delegated requests (docs/policy.md, "Delegation"). */
  readonly namesActor: boolean;
  /** Cost units charged to the decision's meter each time the rule is evaluated (cost-meter.ts). */
  readonly cost: number;
  /** Absent: the rule always applies. Throws on a CEL evaluation error. */
  readonly condition?: (bindings: Bindings) => boolean;
  /** Allow rules only: fills in the data filter; absent means `{}`. */
  readonly filter?: FilterBuilder;
  /**
   * A lazy policy's rule that did not compile when first needed (a snapshot
   * validated by another version of this code): it is decided like a
   * condition that raised, so it never allows and a deny denies.
   */
  readonly broken?: true;
}

export interface CompileOptions {
  /**
   * Check the document's shape now but compile each rule's condition and
   * filter only when a request first reaches its bucket. For a document a
   * full compile has already accepted (a published snapshot): a gateway
   * then pays, in time and memory, for the resource types it serves, not
   * for the whole policy (10 000 compiled rules hold about 30 MiB).
   */
  lazy?: boolean;
}

/** The rules one (resource type, action) key holds, denies apart so they can be decided first. */
export interface Bucket {
  readonly denies: readonly CompiledRule[];
  readonly allows: readonly CompiledRule[];
}

export interface CompiledPolicy {
  /** Every rule, in document order. */
  readonly rules: readonly CompiledRule[];
  /**
   * resource type → action → bucket, ANY standing for "every". A request
   * looks at most four buckets up ((type, action), (type, ANY), (ANY,
   * action), (ANY, ANY)), so its cost grows with the rules that can match
   * it, not with the whole document.
   */
  readonly index: ReadonlyMap<string, ReadonlyMap<string, Bucket>>;
  readonly ruleCount: number;
}

const DOCUMENT_KEYS = new Set(["format", "description", "rules"]);
const RULE_KEYS = new Set(["id", "description", "effect", "resource", "actions", "when", "filter"]);
const NAME = /^[A-Za-z0-9_.:-]+$/;

/**
 * Validates a policy document (docs/policy.md) and compiles it, once per
 * version: every condition parsed and type-checked, every filter template
 * checked, the rules indexed. Throws PolicyError with a stable code and the
 * path of the first offending part. With `lazy`, only the document's shape
 * is checked now (CompileOptions).
 */
export function compilePolicy(document: unknown, options: CompileOptions = {}): CompiledPolicy {
  if (!isRecord(document)) throw new PolicyError("ERR_POLICY_SHAPE", "$", "expected { format: 2, rules: [...] }");
  if (document.format !== 2) {
    throw new PolicyError("ERR_POLICY_FORMAT", "$.format", "this PDP compiles format 2 (CEL conditions)");
  }
  refuseUnknownKeys(document, DOCUMENT_KEYS, "$");
  if (document.description !== undefined) checkDescription(document.description, "$.description");
  const rules: unknown = document.rules;
  if (!Array.isArray(rules)) throw new PolicyError("ERR_POLICY_SHAPE", "$.rules", "rules must be a list");
  if (rules.length > POLICY_LIMITS.rules) {
    throw new PolicyError("ERR_POLICY_TOO_LARGE", "$.rules", `at most ${POLICY_LIMITS.rules} rules`);
  }
  // Large policies repeat conditions: each distinct one is parsed and checked once.
  const conditions = new Map<string, CompiledCondition>();
  const ids = new Set<string>();
  const compiled = rules.map((rule: unknown, position) => {
    const path = `$.rules[${position}]`;
    const result = compileRule(rule, path, position, conditions, options.lazy === true);
    if (ids.has(result.id)) throw new PolicyError("ERR_POLICY_DUPLICATE_RULE", `${path}.id`, result.id);
    ids.add(result.id);
    return result;
  });
  return { rules: compiled, index: buildIndex(compiled), ruleCount: compiled.length };
}

function compileRule(
  rule: unknown,
  path: string,
  position: number,
  conditions: Map<string, CompiledCondition>,
  lazy: boolean,
): CompiledRule {
  if (!isRecord(rule)) throw new PolicyError("ERR_POLICY_SHAPE", path, "a rule is an object");
  // A misspelt key (`condition` for `when`) would otherwise leave a rule that always applies.
  refuseUnknownKeys(rule, RULE_KEYS, path);
  if (!isName(rule.id)) throw new PolicyError("ERR_POLICY_SHAPE", `${path}.id`, "id must be a short name");
  if (rule.description !== undefined) checkDescription(rule.description, `${path}.description`);
  if (rule.effect !== "allow" && rule.effect !== "deny") {
    throw new PolicyError("ERR_POLICY_SHAPE", `${path}.effect`, 'effect must be "allow" or "deny"');
  }
  if (rule.resource !== ANY && !isName(rule.resource)) {
    throw new PolicyError("ERR_POLICY_SHAPE", `${path}.resource`, 'resource must be a resource type or "*"');
  }
  if (rule.filter !== undefined && rule.effect === "deny") {
    throw new PolicyError("ERR_POLICY_SHAPE", `${path}.filter`, "only allow rules carry a filter");
  }
  const effect: "allow" | "deny" = rule.effect;
  const head = { id: rule.id, position, effect, resource: rule.resource };
  const actions = compileActions(rule.actions, `${path}.actions`);
  const { when, filter } = rule;
  if (!lazy) {
    const body = compileBody(when, filter, path, head.id, conditions, true);
    return { ...head, actions, body: () => body };
  }
  let body: RuleBody | undefined;
  return {
    ...head,
    actions,
    body: () => {
      if (!body) {
        try {
          // A snapshot published before the estimate existed is still decided: the runtime budget bounds it.
          body = compileBody(when, filter, path, head.id, conditions, false);
        } catch (error) {
          console.error(
            `policy rule ${head.id} does not compile`,
            error instanceof PolicyError ? error.message : error,
          );
          body = { namesActor: false, cost: 1, broken: true };
        }
      }
      return body;
    },
  };
}

function compileBody(
  when: unknown,
  filterTemplate: unknown,
  path: string,
  ruleId: string,
  conditions: Map<string, CompiledCondition>,
  refuseCostly: boolean,
): RuleBody {
  let condition: CompiledCondition | undefined;
  if (when !== undefined) {
    condition = typeof when === "string" ? conditions.get(when) : undefined;
    if (!condition) {
      condition = compileCondition(when, `${path}.when`, ruleId, { refuseCostly });
      conditions.set(when as string, condition);
    }
  }
  const namesActor = condition?.namesActor ?? false;
  let filter: FilterBuilder | undefined;
  if (filterTemplate !== undefined) {
    if (namesActor) {
      throw new PolicyError(
        "ERR_POLICY_ACTOR_FILTER",
        `${path}.filter`,
        "a rule that names actor is a gate for the actor and carries no filter: the rows are the subject's",
      );
    }
    filter = compileFilter(filterTemplate, `${path}.filter`);
  }
  return {
    namesActor,
    cost: condition?.cost ?? 1,
    ...(condition ? { condition: condition.evaluate } : {}),
    ...(filter ? { filter } : {}),
  };
}

function compileActions(actions: unknown, path: string): string[] {
  if (!Array.isArray(actions) || actions.length === 0) {
    throw new PolicyError("ERR_POLICY_SHAPE", path, 'actions must be a non-empty list of names, or ["*"]');
  }
  if (actions.length > POLICY_LIMITS.actionsPerRule) {
    throw new PolicyError("ERR_POLICY_TOO_LARGE", path, `at most ${POLICY_LIMITS.actionsPerRule} actions`);
  }
  if (actions.includes(ANY)) {
    if (actions.length !== 1) throw new PolicyError("ERR_POLICY_SHAPE", path, '"*" stands alone');
    return [ANY];
  }
  actions.forEach((action, i) => {
    if (!isName(action)) throw new PolicyError("ERR_POLICY_SHAPE", `${path}[${i}]`, "an action is a short name");
  });
  return [...new Set(actions as string[])];
}

function buildIndex(rules: readonly CompiledRule[]): Map<string, Map<string, Bucket>> {
  const index = new Map<string, Map<string, { denies: CompiledRule[]; allows: CompiledRule[] }>>();
  for (const rule of rules) {
    let byAction = index.get(rule.resource);
    if (!byAction) {
      byAction = new Map();
      index.set(rule.resource, byAction);
    }
    for (const action of rule.actions) {
      let bucket = byAction.get(action);
      if (!bucket) {
        bucket = { denies: [], allows: [] };
        byAction.set(action, bucket);
      }
      (rule.effect === "deny" ? bucket.denies : bucket.allows).push(rule);
    }
  }
  return index;
}

function refuseUnknownKeys(record: Record<string, unknown>, known: ReadonlySet<string>, path: string): void {
  for (const key of Object.keys(record)) {
    if (!known.has(key)) throw new PolicyError("ERR_POLICY_SHAPE", `${path}.${key}`, `unknown key "${key}"`);
  }
}

function checkDescription(description: unknown, path: string): void {
  if (typeof description !== "string" || description.length > 1024) {
    throw new PolicyError("ERR_POLICY_SHAPE", path, "a description is a string of at most 1024 characters");
  }
}

function isName(value: unknown): value is string {
  return typeof value === "string" && value.length <= POLICY_LIMITS.nameLength && NAME.test(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
