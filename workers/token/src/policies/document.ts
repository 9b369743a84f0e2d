import type { HttpErrorCode } from "../../../../shared/errors/http.ts";
import { type CompiledPolicy, compilePolicy } from "../../../../shared/policy/compile-policy.ts";
import { PolicyError } from "../../../../shared/policy/errors.ts";

/**
 * A refusal of the policy lifecycle that says more than a description: the
 * PDP's stable error code and the path into the document it points at
 * (PolicyError), or how many test cases failed. The admin API answers it
 * with the shared JSON error body plus these fields (admin/policies.ts).
 */
export class PolicyRefusal extends Error {
  override readonly name = "PolicyRefusal";
  constructor(
    readonly code: HttpErrorCode,
    readonly description: string,
    readonly extra: Readonly<Record<string, string | number>>,
  ) {
    super(`${code}: ${description}`);
  }
}

export interface ValidatedDocument {
  /** The document as stored in D1 and in the KV snapshot. */
  json: string;
  compiled: CompiledPolicy;
  ruleCount: number;
}

/**
 * Checks a policy document the way every gateway will load it: compiled by
 * shared/policy/compile-policy.ts, which checks its shape and every CEL
 * condition. A document that does not compile is 400 `invalid_body` naming
 * the PDP's code and path (`code` lets a stored version that no longer
 * compiles be refused as a `conflict` instead).
 */
export function validateDocument(document: unknown, code: HttpErrorCode = "invalid_body"): ValidatedDocument {
  if (document === undefined) throw new PolicyRefusal(code, "document: required", {});
  let compiled: CompiledPolicy;
  try {
    compiled = compilePolicy(document);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    throw new PolicyRefusal(code, `document: ${error.message} (${error.code})`, {
      policy_error: error.code,
      path: error.path,
    });
  }
  const rules = (document as { rules?: unknown }).rules;
  return { json: JSON.stringify(document), compiled, ruleCount: Array.isArray(rules) ? rules.length : 0 };
}

/** A stored version's document, compiled again: a version is only made current if gateways can compile it. */
export function compileStored(documentJson: string): ValidatedDocument {
  return validateDocument(JSON.parse(documentJson), "conflict");
}
