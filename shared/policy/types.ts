import type { FilterScalar } from "./filter.ts";

/**
 * A policy is data (DESIGN, "Policy"): per organization, versioned, compiled
 * once at publish (or start-up) time, evaluated per request without `eval`.
 */
export interface PolicyDocument {
  /** Format version of the document, not the org's policy version. */
  format: 1;
  rules: PolicyRule[];
}

export interface PolicyRule {
  id: string;
  description?: string;
  effect: "allow" | "deny";
  /** Resource type the rule is about, e.g. "documents". */
  resource: string;
  /** Actions on it, e.g. ["read"]. */
  actions: string[];
  /** When the rule applies; absent means always. */
  when?: Condition;
  /** For allow rules: the data filter obligation, with `{ var }` references. */
  filter?: FilterTemplate;
}

/** A reference to an attribute: `subject.org_id`, `resource.type`, `action`, `context.method`. */
export interface VarRef {
  var: string;
}

export type Operand = VarRef | FilterScalar | FilterScalar[];

/**
 * The condition language: a closed set of operators over attributes. No
 * functions, no loops beyond the (bounded) size of the document itself.
 */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { eq: [Operand, Operand] }
  | { ne: [Operand, Operand] }
  /** The left value is one of the right list's values. */
  | { in: [Operand, Operand] }
  /** The left list contains the right value. */
  | { has: [Operand, Operand] }
  /** The attribute is present and not null. */
  | { exists: VarRef };

export type FilterTemplate = { any: FilterTemplate[] } | { [field: string]: Operand | { in: Operand } };

export type AttributeValue = FilterScalar | FilterScalar[] | undefined;

/** The attributes a decision is made over. */
export interface DecisionInput {
  subject: Record<string, AttributeValue>;
  resource: Record<string, AttributeValue>;
  action: string;
  context: Record<string, AttributeValue>;
}
