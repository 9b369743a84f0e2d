import { type CompiledPolicy, ruleKey } from "./compile-policy.ts";
import type { DataFilter } from "./filter.ts";
import type { DecisionInput } from "./types.ts";

interface DecisionBase {
  /** Shared with the audit record and the 403 body. */
  id: string;
  /** Rule ids that applied, so a decision can be explained. */
  matched: string[];
}

/**
 * An allow always carries its filter, so a downstream never has to guess
 * what an absent one means: `{}` is "everything the route exposes".
 */
export interface AllowDecision extends DecisionBase {
  effect: "allow";
  reason: "allowed";
  filter: DataFilter;
}

export interface DenyDecision extends DecisionBase {
  effect: "deny";
  reason: "explicit_deny" | "no_matching_allow";
}

export type Decision = AllowDecision | DenyDecision;

/** An allow rule without a filter template: no row condition. */
const EVERYTHING: DataFilter = {};

/**
 * Default deny; an explicit deny wins over any allow (DESIGN, "Policy").
 * Allowed filters combine with `any`: a row one allow rule grants is granted.
 */
export function decide(policy: CompiledPolicy, input: DecisionInput, id: string = crypto.randomUUID()): Decision {
  const rules = policy.index.get(ruleKey(String(input.resource.type ?? ""), input.action)) ?? [];
  const allows: { id: string; filter: DataFilter }[] = [];
  const denies: string[] = [];
  for (const rule of rules) {
    if (!rule.applies(input)) continue;
    if (rule.effect === "deny") {
      denies.push(rule.id);
      continue;
    }
    const filter = rule.filter ? rule.filter(input) : EVERYTHING;
    // An allow whose filter cannot be built (missing attribute, wrong kind) does not allow.
    if (filter === undefined) continue;
    allows.push({ id: rule.id, filter });
  }
  if (denies.length > 0) return { id, effect: "deny", matched: denies, reason: "explicit_deny" };
  if (allows.length === 0) return { id, effect: "deny", matched: [], reason: "no_matching_allow" };
  const matched = allows.map((a) => a.id);
  if (allows.some((a) => a.filter === EVERYTHING))
    return { id, effect: "allow", matched, reason: "allowed", filter: {} };
  if (allows.length === 1)
    return { id, effect: "allow", matched, reason: "allowed", filter: (allows[0] as { filter: DataFilter }).filter };
  // `any` of `any`s is one `any`: flattening keeps the combined filter no
  // deeper than the deepest rule's, within the limit the downstream parses.
  const any = allows.flatMap((a) => ("any" in a.filter && Array.isArray(a.filter.any) ? a.filter.any : [a.filter]));
  return { id, effect: "allow", matched, reason: "allowed", filter: { any } };
}
