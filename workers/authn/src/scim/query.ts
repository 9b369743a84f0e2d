/**
 * The list query of RFC 7644 §3.4.2: `filter` (§3.4.2.2, parsed by
 * filter.ts against the attributes a resource offers) and the pagination
 * parameters `startIndex` and `count` (§3.4.2.4). A filter this server
 * cannot answer is a 400 `invalidFilter`, never a silently wider answer.
 */
import { ScimError } from "../../../../shared/errors/scim.ts";
import { type Filter, type FilterSchema, parseFilter, type Typed } from "./filter.ts";

export const MAX_RESULTS = 100;

export interface ListQuery {
  filter: Filter | undefined;
  startIndex: number;
  count: number;
}

/**
 * `schema` is the resource's core schema URN: §3.10 lets a filter name an
 * attribute fully qualified by it (`urn:…:core:2.0:User:userName`); any
 * other URN names no attribute here.
 */
export function listQuery<T extends Typed>(
  params: URLSearchParams,
  attributes: FilterSchema<T>,
  schema: string,
): ListQuery {
  const raw = params.get("filter");
  return {
    filter: raw === null ? undefined : parseFilter(raw, attributes, schema),
    // §3.4.2.4: a startIndex below 1 is read as 1; a negative count as 0.
    startIndex: Math.max(1, integerParam(params, "startIndex") ?? 1),
    count: Math.min(MAX_RESULTS, Math.max(0, integerParam(params, "count") ?? MAX_RESULTS)),
  };
}

function integerParam(params: URLSearchParams, name: string): number | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (!/^-?\d{1,9}$/.test(value)) throw new ScimError("invalidValue", `${name} must be an integer`);
  return Number(value);
}
