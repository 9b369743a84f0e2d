/**
 * Parsers for a Worker's vars and secrets, shared by every `src/config.ts`.
 * Each names the var in the error it throws, so a bad deployment fails at
 * its first request with the cause in the log.
 */

/**
 * An integer from `min` to `max`, written in decimal digits only: a sign,
 * an exponent (`1e3`), a fraction or an empty value is refused rather than
 * read as something the operator did not write.
 */
export function integerVar(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value ?? "") || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

/** An absolute http(s) URL, as written. */
export function absoluteUrlVar(name: string, value: string | undefined): string {
  try {
    const url = new URL(value ?? "");
    if (url.protocol === "https:" || url.protocol === "http:") return value as string;
  } catch {
    // fall through
  }
  throw new Error(`${name} must be an absolute http(s) URL`);
}

/** A secret of at least `minLength` characters (a key is derived from it or signed with it). */
export function secretVar(name: string, value: string | undefined, minLength: number): string {
  if (typeof value !== "string" || value.length < minLength) {
    throw new Error(`${name} must be at least ${minLength} characters`);
  }
  return value;
}
