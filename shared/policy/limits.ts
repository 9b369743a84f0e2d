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
  /**
   * Cost units one decision may spend evaluating conditions (cost-meter.ts):
   * one a node, one a macro iteration's node, one per 10 characters or one
   * element of a value an operation walks. Past it the decision stops and
   * is `cost_limit_exceeded` (fail closed). 4 to 15 ms of CPU on V8 for the
   * costliest operations priced in COST, against about 120 000 for 10 000
   * simple rules in one bucket with an ordinary request.
   */
  decisionCost: 1_000_000,
  /**
   * The worst-case cost of one condition, estimated at compile time over the
   * input limits above (condition-cost.ts): past it the rule is refused
   * (`ERR_POLICY_TOO_COSTLY`), so an admin learns at publish what would
   * otherwise surface at request time. At most 30% of a decision's budget,
   * so a single rule never spends it alone; a 256-element list attribute
   * mapped through upperAscii (about 211 000) still fits.
   */
  ruleCost: 300_000,
} as const;

/**
 * The cost model's prices (docs/policy.md, "Cost"), shared by the static
 * estimate and the runtime meter so that the estimate bounds the meter.
 */
export const COST = {
  /** Characters of a string that cost one unit when an operation walks it (cel-go's 0.1 a character). */
  charsPerUnit: 10,
  /**
   * Characters of a string that cost one unit when `size` counts them: the
   * library walks its code points one by one, ten times slower a character
   * than contains or lowerAscii (measured: 38 ms for 1 000 000 units at 10).
   */
  sizeCharsPerUnit: 1,
  /** One iteration of a macro, beyond its body's nodes: the library's loop and scope, about 60 ns on V8. */
  iteration: 5,
  /** A timestamp method with a time zone: the library builds an Intl formatter, about 57 µs on V8. */
  timeZone: 3000,
} as const;
