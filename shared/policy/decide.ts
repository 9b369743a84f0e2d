import type { DataFilter } from "./filter.ts";
import { type CompiledPolicy, ruleKey } from "./compile-policy.ts";
import type { DecisionInput } from "./types.ts";

export interface Decision {
  /** Shared with the audit record and the 403 body. */
  id: string;
  effect: "allow" | "deny";
  /** Rule ids that applied, so a decision can be explained. */
  matched: string[];
  reason: "allowed" | "explicit_deny" | "no_matching_allow";
  /** For allowed reads: what the downstream may return. */
  filter?: DataFilter;
}

/**
 * Default deny; an explicit deny wins over any allow (DESIGN, "Policy").
 * Allowed filters combine with `any`: a row one allow rule grants is granted.
 */
export function decide(policy: CompiledPolicy, input: DecisionInput, id: string = crypto.randomUUID()): Decision {
  const rules = policy.index.get(ruleKey(String(input.resource.type ?? ""), input.action)) ?? [];
  const allows: { id: string; filter: DataFilter | undefined; hasFilter: boolean }[] = [];
  const denies: string[] = [];
  for (const rule of rules) {
    if (!rule.applies(input)) continue;
    if (rule.effect === "deny") {
      denies.push(rule.id);
      continue;
    }
    const filter = rule.filter ? rule.filter(input) : undefined;
    // An allow whose filter cannot be built (missing attribute) does not allow.
    if (rule.filter && filter === undefined) continue;
    allows.push({ id: rule.id, filter, hasFilter: rule.filter !== undefined });
  }
  if (denies.length > 0) return { id, effect: "deny", matched: denies, reason: "explicit_deny" };
  if (allows.length === 0) return { id, effect: "deny", matched: [], reason: "no_matching_allow" };
  const matched = allows.map((a) => a.id);
  // An allow without a filter grants everything the route exposes.
  if (allows.some((a) => !a.hasFilter)) return { id, effect: "allow", matched, reason: "allowed" };
  const filters = allows.map((a) => a.filter as DataFilter);
  return {
    id,
    effect: "allow",
    matched,
    reason: "allowed",
    filter: filters.length === 1 ? (filters[0] as DataFilter) : { any: filters },
  };
}
