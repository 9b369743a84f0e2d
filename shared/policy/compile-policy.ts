import { type DataFilter, FILTER_FIELD_NAME, type FilterScalar, isFilterScalar, MAX_FILTER_DEPTH } from "./filter.ts";
import { PolicyError } from "./errors.ts";
import type {
  AttributeValue,
  Condition,
  DecisionInput,
  FilterTemplate,
  Operand,
  PolicyDocument,
  PolicyRule,
} from "./types.ts";

/** Limits that keep evaluation bounded whatever a policy author writes. */
export const POLICY_LIMITS = {
  rules: 512,
  nodesPerRule: 256,
  depth: 16,
  listItems: 64,
  idLength: 128,
} as const;

const ATTRIBUTE = /^(subject|resource|context)\.[a-z_][a-z0-9_]{0,63}$|^action$/;

type Evaluator = (input: DecisionInput) => boolean;
type OperandReader = (input: DecisionInput) => AttributeValue;
type FilterBuilder = (input: DecisionInput) => DataFilter | undefined;

export interface CompiledRule {
  id: string;
  effect: "allow" | "deny";
  applies: Evaluator;
  filter?: FilterBuilder;
}

export interface CompiledPolicy {
  /** Rules by `${resource} ${action}`, in document order. */
  readonly index: ReadonlyMap<string, readonly CompiledRule[]>;
  readonly ruleCount: number;
}

export function ruleKey(resource: string, action: string): string {
  return `${resource} ${action}`;
}

/**
 * Validates a policy document and compiles it into closures, once, so the
 * per-request work is a map lookup and a few comparisons.
 */
export function compilePolicy(document: unknown): CompiledPolicy {
  if (!isRecord(document) || document.format !== 1 || !Array.isArray(document.rules)) {
    throw new PolicyError("ERR_POLICY_SHAPE", "$", "expected { format: 1, rules: [...] }");
  }
  const doc = document as unknown as PolicyDocument;
  if (doc.rules.length > POLICY_LIMITS.rules) {
    throw new PolicyError("ERR_POLICY_TOO_LARGE", "$.rules", `at most ${POLICY_LIMITS.rules} rules`);
  }
  const index = new Map<string, CompiledRule[]>();
  const ids = new Set<string>();
  doc.rules.forEach((rule, i) => {
    const path = `$.rules[${i}]`;
    const compiled = compileRule(rule, path);
    if (ids.has(compiled.id)) throw new PolicyError("ERR_POLICY_DUPLICATE_RULE", `${path}.id`, compiled.id);
    ids.add(compiled.id);
    for (const action of rule.actions) {
      const key = ruleKey(rule.resource, action);
      index.set(key, [...(index.get(key) ?? []), compiled]);
    }
  });
  return { index, ruleCount: doc.rules.length };
}

function compileRule(rule: PolicyRule, path: string): CompiledRule {
  if (!isRecord(rule)) throw new PolicyError("ERR_POLICY_SHAPE", path, "rule must be an object");
  if (!isName(rule.id)) throw new PolicyError("ERR_POLICY_SHAPE", `${path}.id`, "id must be a short name");
  if (rule.effect !== "allow" && rule.effect !== "deny") {
    throw new PolicyError("ERR_POLICY_SHAPE", `${path}.effect`, 'effect must be "allow" or "deny"');
  }
  if (!isName(rule.resource))
    throw new PolicyError("ERR_POLICY_SHAPE", `${path}.resource`, "resource must be a short name");
  if (!Array.isArray(rule.actions) || rule.actions.length === 0 || !rule.actions.every(isName)) {
    throw new PolicyError("ERR_POLICY_SHAPE", `${path}.actions`, "actions must be a non-empty list of names");
  }
  const budget = { nodes: 0 };
  const applies = rule.when === undefined ? () => true : compileCondition(rule.when, `${path}.when`, 0, budget);
  if (rule.filter !== undefined && rule.effect === "deny") {
    throw new PolicyError("ERR_POLICY_SHAPE", `${path}.filter`, "only allow rules carry a filter");
  }
  const filter = rule.filter === undefined ? undefined : compileFilter(rule.filter, `${path}.filter`, 0, budget);
  return { id: rule.id, effect: rule.effect, applies, ...(filter ? { filter } : {}) };
}

function compileCondition(node: Condition, path: string, depth: number, budget: { nodes: number }): Evaluator {
  spend(budget, depth, path);
  if (!isRecord(node) || Object.keys(node).length !== 1) {
    throw new PolicyError("ERR_POLICY_SHAPE", path, "a condition has exactly one operator");
  }
  const [op, arg] = Object.entries(node)[0] as [string, unknown];
  switch (op) {
    case "all":
    case "any": {
      if (!Array.isArray(arg) || arg.length === 0)
        throw new PolicyError("ERR_POLICY_SHAPE", `${path}.${op}`, "needs a non-empty list");
      const parts = arg.map((c: Condition, i) => compileCondition(c, `${path}.${op}[${i}]`, depth + 1, budget));
      return op === "all" ? (input) => parts.every((p) => p(input)) : (input) => parts.some((p) => p(input));
    }
    case "not": {
      const inner = compileCondition(arg as Condition, `${path}.not`, depth + 1, budget);
      return (input) => !inner(input);
    }
    case "exists": {
      const read = compileOperand(arg as Operand, `${path}.exists`, budget, true);
      return (input) => {
        const v = read(input);
        return v !== undefined && v !== null;
      };
    }
    case "eq":
    case "ne":
    case "in":
    case "has": {
      if (!Array.isArray(arg) || arg.length !== 2)
        throw new PolicyError("ERR_POLICY_SHAPE", `${path}.${op}`, "needs two operands");
      const left = compileOperand(arg[0] as Operand, `${path}.${op}[0]`, budget);
      const right = compileOperand(arg[1] as Operand, `${path}.${op}[1]`, budget);
      if (op === "eq") return (input) => scalarEquals(left(input), right(input));
      if (op === "ne") return (input) => !scalarEquals(left(input), right(input));
      if (op === "in") return (input) => contains(right(input), left(input));
      return (input) => contains(left(input), right(input));
    }
    default:
      throw new PolicyError("ERR_POLICY_UNKNOWN_OPERATOR", path, `unknown operator "${op}"`);
  }
}

function compileOperand(operand: Operand, path: string, budget: { nodes: number }, varOnly = false): OperandReader {
  budget.nodes += 1;
  if (isRecord(operand) && "var" in operand) {
    if (Object.keys(operand).length !== 1) throw new PolicyError("ERR_POLICY_SHAPE", path, "{ var } stands alone");
    const name = operand.var;
    if (typeof name !== "string" || !ATTRIBUTE.test(name)) {
      throw new PolicyError("ERR_POLICY_UNKNOWN_ATTRIBUTE", path, `unknown attribute ${JSON.stringify(name)}`);
    }
    if (name === "action") return (input) => input.action;
    const [scope, key] = name.split(".") as ["subject" | "resource" | "context", string];
    // Own properties only: an attribute name can never reach the prototype.
    return (input) => (Object.hasOwn(input[scope], key) ? input[scope][key] : undefined);
  }
  if (varOnly) throw new PolicyError("ERR_POLICY_SHAPE", path, "expected { var }");
  if (Array.isArray(operand)) {
    if (operand.length > POLICY_LIMITS.listItems || !operand.every(isFilterScalar)) {
      throw new PolicyError("ERR_POLICY_SHAPE", path, `a list holds at most ${POLICY_LIMITS.listItems} scalars`);
    }
    const list = [...operand];
    return () => list;
  }
  if (isFilterScalar(operand)) return () => operand;
  throw new PolicyError("ERR_POLICY_SHAPE", path, "operand must be a scalar, a list or { var }");
}

/**
 * A filter template compiles to a builder that fills in attribute values at
 * decision time. Values are scalars (shared/policy/filter.ts): a literal list
 * or object where a scalar belongs, or a scalar where `in` needs a list, is
 * refused here; an attribute that turns out to hold the wrong kind at
 * decision time yields no filter, and the rule does not allow.
 */
function compileFilter(
  template: FilterTemplate,
  path: string,
  depth: number,
  budget: { nodes: number },
): FilterBuilder {
  spend(budget, depth, path);
  // The downstream's parser holds the same limit (parseDataFilter); decide()
  // flattens the `any` it adds, so a compiled filter never grows deeper.
  if (depth > MAX_FILTER_DEPTH) {
    throw new PolicyError("ERR_POLICY_TOO_LARGE", path, `filter nested deeper than ${MAX_FILTER_DEPTH}`);
  }
  if (!isRecord(template)) throw new PolicyError("ERR_POLICY_SHAPE", path, "filter must be an object");
  if ("any" in template) {
    const list: unknown = (template as { any: unknown }).any;
    if (!Array.isArray(list) || list.length === 0 || Object.keys(template).length !== 1) {
      throw new PolicyError("ERR_POLICY_SHAPE", path, '"any" takes a non-empty list and stands alone');
    }
    const parts = list.map((t, i) => compileFilter(t as FilterTemplate, `${path}.any[${i}]`, depth + 1, budget));
    return (input) => {
      const built = parts.map((p) => p(input));
      return built.every((f) => f !== undefined) ? { any: built as DataFilter[] } : undefined;
    };
  }
  const fields = Object.entries(template).map(([field, value]) => {
    if (!FILTER_FIELD_NAME.test(field)) throw new PolicyError("ERR_POLICY_SHAPE", `${path}.${field}`, "bad field name");
    if (isRecord(value) && "in" in value) {
      const listPath = `${path}.${field}.in`;
      if (Object.keys(value).length !== 1) throw new PolicyError("ERR_POLICY_SHAPE", listPath, '"in" stands alone');
      if (!Array.isArray(value.in) && !isVarRef(value.in)) {
        throw new PolicyError("ERR_POLICY_SHAPE", listPath, '"in" takes a list of scalars or { var }');
      }
      return { field, read: compileOperand(value.in as Operand, listPath, budget), list: true };
    }
    if (!isFilterScalar(value) && !isVarRef(value)) {
      throw new PolicyError("ERR_POLICY_SHAPE", `${path}.${field}`, "a field takes a scalar, { var } or { in }");
    }
    return { field, read: compileOperand(value as Operand, `${path}.${field}`, budget), list: false };
  });
  // A filter whose attribute is missing (or of the wrong kind) yields no
  // filter at all, and the rule then cannot allow: fail closed.
  return (input) => {
    const out: Record<string, FilterScalar | { in: FilterScalar[] }> = {};
    for (const { field, read, list } of fields) {
      const value = read(input);
      if (list) {
        if (!Array.isArray(value) || !value.every(isFilterScalar)) return undefined;
        out[field] = { in: [...value] };
      } else {
        if (!isFilterScalar(value)) return undefined;
        out[field] = value;
      }
    }
    return out;
  };
}

function spend(budget: { nodes: number }, depth: number, path: string): void {
  budget.nodes += 1;
  if (depth > POLICY_LIMITS.depth)
    throw new PolicyError("ERR_POLICY_TOO_LARGE", path, `nested deeper than ${POLICY_LIMITS.depth}`);
  if (budget.nodes > POLICY_LIMITS.nodesPerRule) {
    throw new PolicyError("ERR_POLICY_TOO_LARGE", path, `more than ${POLICY_LIMITS.nodesPerRule} nodes in one rule`);
  }
}

function scalarEquals(a: AttributeValue, b: AttributeValue): boolean {
  return a !== undefined && !Array.isArray(a) && !Array.isArray(b) && a === b;
}

function contains(list: AttributeValue, value: AttributeValue): boolean {
  return Array.isArray(list) && value !== undefined && !Array.isArray(value) && list.includes(value);
}

function isVarRef(value: unknown): boolean {
  return isRecord(value) && "var" in value;
}

function isName(value: unknown): value is string {
  return (
    typeof value === "string" &&
    value.length > 0 &&
    value.length <= POLICY_LIMITS.idLength &&
    /^[A-Za-z0-9_.:-]+$/.test(value)
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
