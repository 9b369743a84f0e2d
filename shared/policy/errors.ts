/** Stable codes of a policy that cannot be compiled (docs/policy.md, "Errors"). */
export type PolicyErrorCode =
  /** The document or a rule is not shaped as docs/policy.md says. */
  | "ERR_POLICY_SHAPE"
  /** `format` is not one this PDP compiles. */
  | "ERR_POLICY_FORMAT"
  /** Over a limit (POLICY_LIMITS): rules, expression size or depth, lists, nested macros. */
  | "ERR_POLICY_TOO_LARGE"
  /** A condition whose worst-case cost over the input limits exceeds POLICY_LIMITS.ruleCost. */
  | "ERR_POLICY_TOO_COSTLY"
  | "ERR_POLICY_DUPLICATE_RULE"
  /** A condition is not CEL. */
  | "ERR_POLICY_SYNTAX"
  /** A variable or field the language does not define. */
  | "ERR_POLICY_UNKNOWN_ATTRIBUTE"
  /** A function or method outside the documented set (e.g. `matches`: no backtracking regexes). */
  | "ERR_POLICY_UNKNOWN_FUNCTION"
  /** A condition that is not a bool, or an operator applied to the wrong types. */
  | "ERR_POLICY_TYPE"
  /** A macro variable named like one of the language's variables. */
  | "ERR_POLICY_RESERVED_NAME"
  /** A filter on a rule that names `actor`, or a filter that reads `actor`. */
  | "ERR_POLICY_ACTOR_FILTER";

/**
 * A policy document that cannot be compiled; `path` points at the offending
 * part. (Plain fields, not parameter properties: the bench runs this module
 * in Node, which only strips types.)
 */
export class PolicyError extends Error {
  override readonly name = "PolicyError";
  readonly code: PolicyErrorCode;
  readonly path: string;
  constructor(code: PolicyErrorCode, path: string, message: string) {
    super(`${path}: ${message}`);
    this.code = code;
    this.path = path;
  }
}
