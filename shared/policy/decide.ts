import { type Bindings, InputTooLargeError, toBindings } from "./cel-environment.ts";
import { ANY, type Bucket, type CompiledPolicy, type CompiledRule, type RuleBody } from "./compile-policy.ts";
import { METER } from "./cost-meter.ts";
import type { DataFilter } from "./filter.ts";
import { POLICY_LIMITS } from "./limits.ts";
import type { DecisionInput } from "./types.ts";

interface DecisionBase {
  /** Shared with the audit record and the 403 body. */
  id: string;
  /**
   * Rule ids, in document order, that explain the decision: the allow rules
   * that granted it (subject and actor rules); for `explicit_deny` the deny
   * rules that held; for `actor_not_permitted` the subject's allow rules
   * that held without an actor rule beside them; otherwise none.
   */
  matched: string[];
  /** Rules whose condition raised a CEL error, or whose filter could not be built: they did not allow. */
  errored: string[];
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

export type DenyReason =
  /** A deny rule held. */
  | "explicit_deny"
  /** No allow rule for the subject held (default deny). */
  | "no_matching_allow"
  /** Delegated: the subject may, but no rule naming `actor` lets this actor act for them. */
  | "actor_not_permitted"
  /** A deny rule's condition could not be evaluated: it counts as holding (fail closed). */
  | "condition_error"
  /** The request's attributes exceed POLICY_LIMITS. */
  | "input_too_large"
  /** Evaluating the conditions spent POLICY_LIMITS.decisionCost: stopped, and denied (fail closed). */
  | "cost_limit_exceeded";

export interface DenyDecision extends DecisionBase {
  effect: "deny";
  reason: DenyReason;
}

export type Decision = AllowDecision | DenyDecision;

/**
 * Default deny; an explicit deny wins over any allow (DESIGN, "Policy").
 * A delegated request (`actor` present) is allowed only when the subject is
 * allowed by a rule that does not name `actor` and the actor by one that
 * does (ASVS 5.0 8.3.3; docs/policy.md, "Delegation"). Allowed filters
 * combine with `any`: a row one of the subject's allow rules grants is granted.
 */
export function decide(policy: CompiledPolicy, input: DecisionInput, id: string = crypto.randomUUID()): Decision {
  let bindings: Bindings;
  try {
    bindings = toBindings(input);
  } catch (error) {
    if (error instanceof InputTooLargeError) return deny(id, "input_too_large", [], []);
    throw error;
  }
  // One budget for the whole decision (cel-go's CostLimit): a policy's
  // rules may each be cheap and still, on a caller's 8 KiB path, add up to
  // seconds of the isolate every org's requests share.
  METER.spent = 0;
  METER.limit = POLICY_LIMITS.decisionCost;
  try {
    return decideMetered(policy, input, bindings, id);
  } finally {
    METER.limit = Number.POSITIVE_INFINITY;
  }
}

function decideMetered(policy: CompiledPolicy, input: DecisionInput, bindings: Bindings, id: string): Decision {
  const delegated = input.actor !== undefined;
  const buckets = bucketsFor(policy, bindings.resource.type, bindings.action);
  const errored: CompiledRule[] = [];

  const denies: CompiledRule[] = [];
  for (const bucket of buckets) {
    for (const rule of bucket.denies) {
      const body = rule.body();
      // An actor rule speaks of the actor: a direct request has none.
      if (body.namesActor && !delegated) continue;
      const holds = evaluate(body, bindings);
      if (holds === OVER_BUDGET) return deny(id, "cost_limit_exceeded", [], [rule]);
      if (holds === true) denies.push(rule);
      else if (holds === ERROR) errored.push(rule);
    }
  }
  if (denies.length > 0) return deny(id, "explicit_deny", denies, errored);
  if (errored.length > 0) return deny(id, "condition_error", [], errored);

  const grants: { rule: CompiledRule; filter: DataFilter }[] = [];
  const actorGrants: CompiledRule[] = [];
  for (const bucket of buckets) {
    for (const rule of bucket.allows) {
      const body = rule.body();
      if (body.namesActor && !delegated) continue;
      const holds = evaluate(body, bindings);
      if (holds === OVER_BUDGET) return deny(id, "cost_limit_exceeded", [], [rule]);
      if (holds === ERROR) errored.push(rule);
      if (holds !== true) continue;
      if (body.namesActor) {
        actorGrants.push(rule);
        continue;
      }
      const filter = body.filter ? body.filter(bindings) : EVERYTHING;
      // An allow whose filter cannot be built (an attribute of the wrong kind) does not allow.
      if (filter === undefined) errored.push(rule);
      else grants.push({ rule, filter });
    }
  }
  if (grants.length === 0) return deny(id, "no_matching_allow", [], errored);
  if (delegated && actorGrants.length === 0) {
    return deny(
      id,
      "actor_not_permitted",
      grants.map((g) => g.rule),
      errored,
    );
  }
  if (buckets.length > 1) grants.sort((a, b) => a.rule.position - b.rule.position);
  return {
    id,
    effect: "allow",
    reason: "allowed",
    matched: ids([...grants.map((g) => g.rule), ...actorGrants]),
    errored: ids(errored),
    filter: combine(grants.map((g) => g.filter)),
  };
}

const ERROR = Symbol("condition error");
const OVER_BUDGET = Symbol("cost limit exceeded");

function evaluate(body: RuleBody, bindings: Bindings): boolean | typeof ERROR | typeof OVER_BUDGET {
  if (body.broken) return ERROR;
  METER.spent += body.cost;
  if (METER.spent > METER.limit) return OVER_BUDGET;
  if (!body.condition) return true;
  let holds: boolean | typeof ERROR;
  try {
    holds = body.condition(bindings);
  } catch {
    // A CEL evaluation error (a missing key, division by zero, an invalid
    // timestamp): the rule neither allows nor is ignored; see decide().
    holds = ERROR;
  }
  // The meter's throw may have been swallowed on the way (`true || e` is
  // true in CEL), so the answer of a condition that ran out counts for nothing.
  return METER.spent > METER.limit ? OVER_BUDGET : holds;
}

/** The (at most four) buckets whose rules can match a request of this resource type and action. */
function bucketsFor(policy: CompiledPolicy, type: string, action: string): Bucket[] {
  const found: Bucket[] = [];
  const add = (bucket: Bucket | undefined) => {
    if (bucket) found.push(bucket);
  };
  const exact = policy.index.get(type);
  add(exact?.get(action));
  if (action !== ANY) add(exact?.get(ANY));
  if (type !== ANY) {
    const anyType = policy.index.get(ANY);
    add(anyType?.get(action));
    if (action !== ANY) add(anyType?.get(ANY));
  }
  return found;
}

function deny(id: string, reason: DenyReason, matched: CompiledRule[], errored: CompiledRule[]): DenyDecision {
  return { id, effect: "deny", reason, matched: ids(matched), errored: ids(errored) };
}

/** Ids in document order (rules from several buckets interleave). */
function ids(rules: readonly CompiledRule[]): string[] {
  if (rules.length === 0) return [];
  if (rules.length === 1) return [(rules[0] as CompiledRule).id];
  return [...rules].sort((a, b) => a.position - b.position).map((r) => r.id);
}

/** An allow rule without a filter template: no row condition. */
const EVERYTHING: DataFilter = {};

function combine(filters: readonly DataFilter[]): DataFilter {
  if (filters.some((f) => f === EVERYTHING || Object.keys(f).length === 0)) return {};
  if (filters.length === 1) return filters[0] as DataFilter;
  // `any` of `any`s is one `any`: flattening keeps the combined filter no
  // deeper than the deepest rule's, within the limit the downstream parses.
  return { any: filters.flatMap((f) => ("any" in f && Array.isArray(f.any) ? (f.any as DataFilter[]) : [f])) };
}
