/**
 * The data filter the PDP computes for an allowed read and the gateway sends
 * downstream as JSON in X-ABAC-Filter. The format is a contract with every
 * downstream service, so it is small and closed:
 *
 *   { "org_id": "o1", "classification": { "in": ["public", "internal"] } }
 *   { "any": [ <filter>, <filter> ] }      // a row matching either passes
 *
 * A field maps to a scalar (equality) or `{ "in": [scalars] }`; all fields of
 * one object must match.
 */
export type FilterScalar = string | number | boolean | null;
export type FieldCondition = FilterScalar | { in: FilterScalar[] };
export type DataFilter = { any: DataFilter[] } | { [field: string]: FieldCondition };

function isScalar(value: unknown): value is FilterScalar {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function isAny(filter: DataFilter): filter is { any: DataFilter[] } {
  return Array.isArray((filter as { any?: unknown }).any);
}

/** Whether a row passes a filter. Unknown shapes never match (fail closed). */
export function matchesFilter(row: Record<string, unknown>, filter: DataFilter): boolean {
  if (isAny(filter)) return filter.any.some((f) => matchesFilter(row, f));
  for (const [field, condition] of Object.entries(filter)) {
    const value = row[field];
    if (isScalar(condition)) {
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
  if (depth > 8 || typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  if ("any" in record) {
    return (
      Object.keys(record).length === 1 &&
      Array.isArray(record.any) &&
      record.any.every((f) => isDataFilter(f, depth + 1))
    );
  }
  return Object.values(record).every(
    (c) =>
      isScalar(c) ||
      (typeof c === "object" &&
        c !== null &&
        Object.keys(c).length === 1 &&
        Array.isArray((c as { in?: unknown }).in) &&
        (c as { in: unknown[] }).in.every(isScalar)),
  );
}
