export type PolicyErrorCode =
  | "ERR_POLICY_SHAPE"
  | "ERR_POLICY_TOO_LARGE"
  | "ERR_POLICY_UNKNOWN_OPERATOR"
  | "ERR_POLICY_UNKNOWN_ATTRIBUTE"
  | "ERR_POLICY_DUPLICATE_RULE";

/** A policy document that cannot be compiled; `path` points at the offending part. */
export class PolicyError extends Error {
  override readonly name = "PolicyError";
  constructor(
    readonly code: PolicyErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}
