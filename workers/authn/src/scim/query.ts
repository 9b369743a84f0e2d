/**
 * The list query of RFC 7644 §3.4.2: `filter` (§3.4.2.2), restricted to the
 * one form directories use to find a resource before creating it — a single
 * `attribute eq "value"` on an attribute named below — and the pagination
 * parameters `startIndex` and `count` (§3.4.2.4). Any other filter is a 400
 * `invalidFilter`, never a silently wider answer.
 */
import { ScimError } from "../../../../shared/errors/scim.ts";

export const MAX_RESULTS = 100;

export interface EqFilter {
  attribute: string;
  value: string;
}

export interface ListQuery {
  filter: EqFilter | undefined;
  startIndex: number;
  count: number;
}

// The attribute as written, checked against `allowed` after its schema URN is taken off.
const EQ = /^\s*([^\s"]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i;

/**
 * `allowed` maps the attribute as written (compared case-insensitively,
 * RFC 7644 §3.4.2.2: attribute names are case-insensitive) to the name the
 * caller uses. `schema` is the resource's core schema URN: §3.10 lets a
 * filter name an attribute fully qualified by it (`urn:…:core:2.0:User:userName`),
 * which was refused as `invalidFilter`; any other URN still is.
 */
export function listQuery(
  params: URLSearchParams,
  allowed: Readonly<Record<string, string>>,
  schema: string,
): ListQuery {
  const raw = params.get("filter");
  let filter: EqFilter | undefined;
  if (raw !== null) {
    const match = EQ.exec(raw);
    const prefix = `${schema.toLowerCase()}:`;
    const written = match?.[1]?.toLowerCase();
    const name = written?.startsWith(prefix) ? written.slice(prefix.length) : written;
    // Own keys only: `constructor` and its kin are no attribute of ours.
    const attribute = name !== undefined && Object.hasOwn(allowed, name) ? allowed[name] : undefined;
    if (!match || attribute === undefined) {
      throw new ScimError(
        "invalidFilter",
        `filter must be one \`attribute eq "value"\` on ${Object.keys(allowed).join(", ")}`,
      );
    }
    filter = { attribute, value: (match[2] ?? "").replace(/\\(.)/g, "$1") };
  }
  return {
    filter,
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
