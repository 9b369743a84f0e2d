import type { Context } from "hono";
import { HttpError } from "../../../../shared/errors/http.ts";
import type { AdminEnv } from "./types.ts";

/**
 * The admin API's reads take their filters and pages from the query string.
 * A value a read cannot use is 400 `invalid_query` (problem type
 * `urn:mono-auth:problem:invalid_query`, shared/errors/problem.ts), never
 * `invalid_body`: a script tells a bad filter from a bad document by the
 * code, and the detail names the parameter (`limit: …`).
 */
export function invalidQuery(name: string, problem: string): never {
  throw new HttpError("invalid_query", `${name}: ${problem}`);
}

/** A whole number in decimal digits only: `1e3`, `0x10`, ` 5` or `5.0` are not a page size. */
const DIGITS = /^\d{1,15}$/;

/**
 * `?<name>=` as an integer from 1 to `max`, or undefined when absent;
 * `problem` words the refusal the way the route's documentation does.
 */
export function queryInteger(
  raw: string | undefined,
  name: string,
  max: number,
  problem = `must be an integer from 1 to ${max}`,
): number | undefined {
  if (raw === undefined) return undefined;
  const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= 1 && value <= max)) invalidQuery(name, problem);
  return value;
}

/** `?<name>=` as one of `allowed`, or undefined when absent. */
export function queryOneOf<const T extends string>(
  raw: string | undefined,
  name: string,
  allowed: readonly T[],
): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) invalidQuery(name, `must be one of ${allowed.join(", ")}`);
  return raw as T;
}

/**
 * The query string of a read that takes only `known`, each at most once:
 * anything else is 400 `invalid_query` naming it. A misspelt filter
 * (`orgs=`), or one given twice, read as if it had not been given answers
 * a wider question than the one asked (every org's counts, every version)
 * as though it had been understood.
 */
export function knownQuery<const T extends string>(
  c: Context<AdminEnv>,
  known: readonly T[],
): Partial<Record<T, string>> {
  const out: Partial<Record<T, string>> = {};
  for (const [name, value] of new URL(c.req.url).searchParams) {
    if (!(known as readonly string[]).includes(name)) {
      invalidQuery(name, `unknown query parameter (known: ${known.join(", ")})`);
    }
    if (out[name as T] !== undefined) invalidQuery(name, "given more than once");
    out[name as T] = value;
  }
  return out;
}

/** A filter's value as given, or undefined when absent; an empty one filters nothing and is refused. */
export function queryFilter(raw: string | undefined, name: string): string | undefined {
  if (raw === "") invalidQuery(name, "must not be empty");
  return raw;
}
