/**
 * The data filter the PDP computes for an allowed read and the gateway sends
 * downstream as JSON in X-ABAC-Filter. The format is a contract with every
 * downstream service, so it is small and closed:
 *
 *   { "org_id": "o1", "classification": { "in": ["public", "internal"] } }
 *   { "any": [ <filter>, <filter> ] }      // a row matching either passes
 *
 * A field maps to a scalar (equality) or `{ "in": [scalars] }`; all fields of
 * one object must match. `{}` has no condition: everything the route exposes.
 * Both sides of the contract (the PDP's compiler, compile-policy.ts, and
 * `parseDataFilter` here, which downstreams use) hold the same limits, so a
 * filter the PDP can produce is always one a downstream accepts.
 */
export type FilterScalar = string | number | boolean | null;
export type FieldCondition = FilterScalar | { in: FilterScalar[] };
export type DataFilter = { any: DataFilter[] } | { [field: string]: FieldCondition };

/** How many `any` levels may nest (the top level is depth 0). */
export const MAX_FILTER_DEPTH = 8;

/** A row field a filter may name. */
export const FILTER_FIELD_NAME = /^[a-z][a-z0-9_]{0,63}$/;

export function isFilterScalar(value: unknown): value is FilterScalar {
  return (
    value === null ||
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value))
  );
}

function isAny(filter: DataFilter): filter is { any: DataFilter[] } {
  return Array.isArray((filter as { any?: unknown }).any);
}

/** Whether a row passes a filter. Unknown shapes never match (fail closed). */
export function matchesFilter(row: Record<string, unknown>, filter: DataFilter): boolean {
  if (isAny(filter)) return filter.any.some((f) => matchesFilter(row, f));
  for (const [field, condition] of Object.entries(filter)) {
    const value = row[field];
    if (isFilterScalar(condition)) {
      if (value !== condition) return false;
    } else if (condition && Array.isArray(condition.in)) {
      if (!condition.in.some((c) => c === value)) return false;
    } else {
      return false;
    }
  }
  return true;
}

/** Parses an X-ABAC-Filter value; `undefined` if it is not a well-formed filter. */
export function parseDataFilter(json: string | null): DataFilter | undefined {
  if (json === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  return isDataFilter(parsed, 0) ? parsed : undefined;
}

function isDataFilter(value: unknown, depth: number): value is DataFilter {
  if (depth > MAX_FILTER_DEPTH || typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  if ("any" in record) {
    return (
      Object.keys(record).length === 1 &&
      Array.isArray(record.any) &&
      record.any.every((f) => isDataFilter(f, depth + 1))
    );
  }
  return Object.entries(record).every(
    ([field, c]) =>
      FILTER_FIELD_NAME.test(field) &&
      (isFilterScalar(c) ||
        (typeof c === "object" &&
          c !== null &&
          Object.keys(c).length === 1 &&
          Array.isArray((c as { in?: unknown }).in) &&
          (c as { in: unknown[] }).in.every(isFilterScalar))),
  );
}
