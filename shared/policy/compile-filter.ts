import { attributeKind, type Bindings, type CelAttribute } from "./cel-environment.ts";
import { PolicyError } from "./errors.ts";
import { type DataFilter, FILTER_FIELD_NAME, type FilterScalar, isFilterScalar, MAX_FILTER_DEPTH } from "./filter.ts";
import { POLICY_LIMITS } from "./limits.ts";
import type { FilterTemplate } from "./types.ts";

/** Fills a filter template in for one request; undefined when an attribute holds the wrong kind. */
export type FilterBuilder = (bindings: Bindings) => DataFilter | undefined;

type Read = (bindings: Bindings) => CelAttribute | readonly string[] | undefined;

/**
 * A filter template compiles to a builder that fills in attribute values at
 * decision time. Values are scalars (shared/policy/filter.ts): a literal list
 * or object where a scalar belongs, a list attribute where a scalar belongs
 * or a scalar one under `in` is refused here; an open-ended attribute
 * (`resource.attributes.*`) that turns out to hold the wrong kind yields no
 * filter, and the rule does not allow (fail closed).
 */
export function compileFilter(template: unknown, path: string): FilterBuilder {
  return compileLevel(template, path, 0, { nodes: 0 });
}

function compileLevel(template: unknown, path: string, depth: number, budget: { nodes: number }): FilterBuilder {
  spend(budget, path);
  // The downstream's parser holds the same limit (parseDataFilter); decide()
  // flattens the `any` it adds, so a compiled filter never grows deeper.
  if (depth > MAX_FILTER_DEPTH) {
    throw new PolicyError("ERR_POLICY_TOO_LARGE", path, `filter nested deeper than ${MAX_FILTER_DEPTH}`);
  }
  if (!isRecord(template)) throw new PolicyError("ERR_POLICY_SHAPE", path, "filter must be an object");
  if ("any" in template) {
    const list: unknown = template.any;
    if (!Array.isArray(list) || list.length === 0 || Object.keys(template).length !== 1) {
      throw new PolicyError("ERR_POLICY_SHAPE", path, '"any" takes a non-empty list and stands alone');
    }
    const parts = list.map((t, i) => compileLevel(t as FilterTemplate, `${path}.any[${i}]`, depth + 1, budget));
    return (bindings) => {
      const built: DataFilter[] = [];
      for (const part of parts) {
        const filter = part(bindings);
        if (filter === undefined) return undefined;
        built.push(filter);
      }
      return { any: built };
    };
  }
  const fields = Object.entries(template).map(([field, value]) => {
    const fieldPath = `${path}.${field}`;
    if (!FILTER_FIELD_NAME.test(field)) throw new PolicyError("ERR_POLICY_SHAPE", fieldPath, "bad field name");
    spend(budget, fieldPath);
    if (isRecord(value) && "in" in value) {
      const listPath = `${fieldPath}.in`;
      if (Object.keys(value).length !== 1) throw new PolicyError("ERR_POLICY_SHAPE", listPath, '"in" stands alone');
      return { field, list: true, read: compileList(value.in, listPath) };
    }
    return { field, list: false, read: compileScalar(value, fieldPath) };
  });
  return (bindings) => {
    const out: Record<string, FilterScalar | { in: FilterScalar[] }> = {};
    for (const { field, read, list } of fields) {
      const value = read(bindings);
      if (list) {
        if (!Array.isArray(value)) return undefined;
        const items: FilterScalar[] = [];
        for (const item of value) {
          const scalar = toScalar(item);
          if (scalar === undefined) return undefined;
          items.push(scalar);
        }
        out[field] = { in: items };
      } else {
        const scalar = toScalar(value);
        if (scalar === undefined) return undefined;
        out[field] = scalar;
      }
    }
    return out;
  };
}

function compileScalar(value: unknown, path: string): Read {
  if (isFilterScalar(value)) return () => value;
  if (!isAttributeRef(value)) {
    throw new PolicyError("ERR_POLICY_SHAPE", path, 'a field takes a scalar, { "attr": … } or { "in": … }');
  }
  return compileRef(value.attr, path, "scalar");
}

function compileList(value: unknown, path: string): Read {
  if (Array.isArray(value)) {
    if (value.length > POLICY_LIMITS.listItems || !value.every(isFilterScalar)) {
      throw new PolicyError("ERR_POLICY_SHAPE", path, `a list holds at most ${POLICY_LIMITS.listItems} scalars`);
    }
    const list = [...value];
    return () => list;
  }
  if (!isAttributeRef(value)) {
    throw new PolicyError("ERR_POLICY_SHAPE", path, '"in" takes a list of scalars or { "attr": … }');
  }
  return compileRef(value.attr, path, "list");
}

/**
 * `{ "attr": "subject.org_id" }`: the attribute must exist, and hold what
 * its place needs. The actor never shapes the rows (docs/policy.md,
 * "Delegation"): the rows a delegated request sees are the subject's.
 */
function compileRef(attr: unknown, path: string, want: "scalar" | "list"): Read {
  const where = `${path}.attr`;
  if (typeof attr !== "string") throw new PolicyError("ERR_POLICY_SHAPE", where, "attr names an attribute");
  if (attr === "action") {
    if (want === "list") throw new PolicyError("ERR_POLICY_TYPE", where, '"action" is a string, "in" needs a list');
    return (b) => b.action;
  }
  const [variable = "", field = "", name, ...rest] = attr.split(".");
  if (variable === "actor") {
    throw new PolicyError("ERR_POLICY_ACTOR_FILTER", where, "a filter's values come from the subject, never the actor");
  }
  if (variable === "resource" && field === "attributes" && name !== undefined && rest.length === 0 && name !== "") {
    // Open-ended: its kind is known only per request.
    return (b) => b.resource.attributes.get(name);
  }
  const kind = name === undefined ? attributeKind(variable, field) : undefined;
  if (kind === undefined) throw new PolicyError("ERR_POLICY_UNKNOWN_ATTRIBUTE", where, `unknown attribute "${attr}"`);
  const fits = want === "scalar" ? kind === "string" || kind === "bool" : kind === "strings";
  if (!fits) {
    throw new PolicyError("ERR_POLICY_TYPE", where, `"${attr}" is ${kind}, this place needs a ${want} of scalars`);
  }
  return (b) => (b[variable as "subject" | "resource" | "context"] as unknown as Record<string, CelAttribute>)[field];
}

/** A filter value from a CEL attribute value: bigint back to number; anything else than a scalar is none. */
function toScalar(value: unknown): FilterScalar | undefined {
  if (typeof value === "bigint") return Number(value);
  return isFilterScalar(value) ? value : undefined;
}

function spend(budget: { nodes: number }, path: string): void {
  budget.nodes += 1;
  if (budget.nodes > POLICY_LIMITS.filterNodes) {
    throw new PolicyError("ERR_POLICY_TOO_LARGE", path, `more than ${POLICY_LIMITS.filterNodes} nodes in one filter`);
  }
}

function isAttributeRef(value: unknown): value is { attr: unknown } {
  return isRecord(value) && "attr" in value && Object.keys(value).length === 1;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
