/**
 * Limits that keep compilation and evaluation bounded whatever a policy
 * author writes (docs/policy.md, "Limits"). CEL has no loops beyond its
 * macros, and a macro runs once per element of the list it is given, so the
 * cost of one condition is bounded by its size times the longest list it
 * can see: the expression caps bound the first, the input caps the second.
 */
export const POLICY_LIMITS = {
  /** Rules in one document. */
  rules: 10_000,
  /** Actions one rule lists. */
  actionsPerRule: 64,
  /** Characters of a rule id, a resource type, an action. */
  nameLength: 128,
  /** Characters of one `when` expression. */
  expressionLength: 4096,
  /** Nodes of one parsed expression. */
  expressionNodes: 256,
  /** Nesting of calls, selects, indexes and literals in one expression. */
  expressionDepth: 16,
  /** Elements of a list literal in an expression or a filter's `in`. */
  listItems: 64,
  /** Entries of a map literal in an expression. */
  mapEntries: 32,
  /**
   * Macros (`all`, `exists`, `exists_one`, `map`, `filter`) nested inside a
   * macro's body: none, so a condition is linear in its input lists, never
   * quadratic.
   */
  macroNesting: 1,
  /** Nodes of one filter template (fields, references, `any` entries). */
  filterNodes: 256,
  /** Items of any list attribute of a request (roles, scope, amr, chain, resource attributes). */
  inputListItems: 256,
  /** Characters of any string attribute of a request. */
  inputStringLength: 8192,
  /** Entries of `resource.attributes`. */
  inputAttributes: 64,
} as const;
