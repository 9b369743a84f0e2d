import { HttpError } from "../../../../shared/errors/http.ts";

/**
 * Strict readers for admin request bodies. Every refusal is 400
 * `invalid_body` with a description that names the field, so a caller (or
 * the CLI) can say exactly what to fix. Unknown fields are refused, never
 * ignored: a misspelt `scope` must not silently become the default.
 */
export type Body = Record<string, unknown>;

function invalid(field: string, problem: string): never {
  throw new HttpError("invalid_body", `${field}: ${problem}`);
}

export function onlyFields(body: Body, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) if (!allowed.includes(key)) invalid(key, "unknown field");
}

export interface StringRule {
  max: number;
  pattern?: RegExp;
  /** A check a pattern cannot express (e.g. URL rules). */
  check?: (value: string) => boolean;
  /** What the pattern or the check requires, for the description. */
  patternText?: string;
}

function checkString(field: string, value: unknown, rule: StringRule): string {
  if (typeof value !== "string") invalid(field, "must be a string");
  const text = value.trim();
  if (text === "") invalid(field, "must not be empty");
  if (text.length > rule.max) invalid(field, `at most ${rule.max} characters`);
  if (rule.pattern && !rule.pattern.test(text)) invalid(field, rule.patternText ?? "malformed");
  if (rule.check && !rule.check(text)) invalid(field, rule.patternText ?? "malformed");
  return text;
}

export function requiredString(body: Body, field: string, rule: StringRule): string {
  if (body[field] === undefined) invalid(field, "required");
  return checkString(field, body[field], rule);
}

export function optionalString(body: Body, field: string, rule: StringRule): string | undefined {
  return body[field] === undefined || body[field] === null ? undefined : checkString(field, body[field], rule);
}

export function oneOf<T extends string>(body: Body, field: string, values: readonly T[], fallback?: T): T {
  const value = body[field];
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "string" || !(values as readonly string[]).includes(value)) {
    invalid(field, `must be one of ${values.join(", ")}`);
  }
  return value as T;
}

export function optionalBoolean(body: Body, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") invalid(field, "must be true or false");
  return value;
}

/** An integer in [min, max]; null or undefined as sent (callers decide what absence means). */
export function optionalInteger(
  body: Body,
  field: string,
  range: { min: number; max: number },
): number | null | undefined {
  const value = body[field];
  if (value === undefined || value === null) return value as undefined | null;
  if (typeof value !== "number" || !Number.isInteger(value) || value < range.min || value > range.max) {
    invalid(field, `must be an integer from ${range.min} to ${range.max}`);
  }
  return value;
}

/**
 * A list of strings: a JSON array, or (RFC 6749 §3.3 style) one
 * space-separated string. Every value must be in `allowed` when given;
 * duplicates collapse.
 */
export function optionalList(
  body: Body,
  field: string,
  rule: { allowed?: ReadonlySet<string>; maxItems: number; itemMax: number; check?: (value: string) => boolean },
): string[] | null | undefined {
  const value = body[field];
  if (value === undefined || value === null) return value as undefined | null;
  const items = typeof value === "string" ? value.split(" ").filter(Boolean) : value;
  if (!Array.isArray(items)) invalid(field, "must be an array of strings or a space-separated string");
  if (items.length > rule.maxItems) invalid(field, `at most ${rule.maxItems} values`);
  const out = new Set<string>();
  for (const item of items) {
    if (typeof item !== "string" || item === "" || item.length > rule.itemMax || /\s/.test(item)) {
      invalid(field, "every value must be a non-empty string without spaces");
    }
    if (rule.allowed && !rule.allowed.has(item)) invalid(field, `${item} is not allowed`);
    if (rule.check && !rule.check(item)) invalid(field, `${item} is not acceptable`);
    out.add(item);
  }
  return [...out];
}
