import { expect } from "vitest";
import { compilePolicy } from "../../shared/policy/compile-policy.ts";
import { type Decision, decide } from "../../shared/policy/decide.ts";
import { PolicyError } from "../../shared/policy/errors.ts";
import type { DataFilter } from "../../shared/policy/filter.ts";
import type { ActorAttributes, DecisionInput, PolicyRule, SubjectAttributes } from "../../shared/policy/types.ts";

/** A member of org o1 signed in through the edge pages, with the documents scope. */
export const MEMBER: SubjectAttributes = {
  id: "u1",
  org_id: "o1",
  client_id: "mono-auth-web",
  roles: ["member"],
  scope: ["documents:read"],
};

/** An org client acting for MEMBER (RFC 8693 `act`), as token exchange issues it. */
export const AGENT: ActorAttributes = { id: "mac_agent", client_id: "mac_agent", chain: ["mac_agent"] };

export function request(
  subject: Partial<SubjectAttributes> = {},
  more: { actor?: ActorAttributes; type?: string; action?: string; context?: Partial<DecisionInput["context"]> } = {},
): DecisionInput {
  return {
    subject: { ...MEMBER, ...subject },
    ...(more.actor ? { actor: more.actor } : {}),
    resource: { type: more.type ?? "documents" },
    action: more.action ?? "read",
    context: { method: "GET", path: "/api/documents", ...more.context },
  };
}

/** A rule with the boring parts filled in. */
export function rule(partial: Partial<PolicyRule> & { id: string }): PolicyRule {
  return { effect: "allow", resource: "documents", actions: ["read"], ...partial };
}

export function policyOf(...rules: PolicyRule[]) {
  return compilePolicy({ format: 2, rules });
}

/** The PolicyError a document is refused with, or undefined if it compiles. */
export function compileError(document: unknown): PolicyError | undefined {
  try {
    compilePolicy(document);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return error as PolicyError;
  }
}

/** The code and path a one-rule document is refused with. */
export function ruleError(partial: Record<string, unknown>): { code: string; path: string } | undefined {
  const error = compileError({ format: 2, rules: [{ ...rule({ id: "r" }), ...partial }] });
  return error && { code: error.code, path: error.path };
}

/** The filter of an allow; fails the test on a deny. */
export function allowedFilter(d: Decision): DataFilter {
  expect(d.effect).toBe("allow");
  if (d.effect !== "allow") throw new Error(`expected allow, got ${d.reason}`);
  return d.filter;
}

/**
 * What one condition does on a request: "true" or "false" as CEL answers,
 * "error" when it raises an evaluation error (it then allows nothing).
 */
export function outcome(when: string, input: DecisionInput = request()): "true" | "false" | "error" {
  const d = decide(policyOf(rule({ id: "probe", when })), input);
  if (d.errored.includes("probe")) return "error";
  return d.effect === "allow" ? "true" : "false";
}
