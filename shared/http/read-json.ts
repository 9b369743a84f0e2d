import { HttpError } from "../errors/http.ts";
import { readBodyCapped } from "./read-body.ts";

/**
 * Where a parsed JSON value holds a string (a member name or a value) that is
 * not well-formed Unicode, as a path (`$.description`), or null. RFC 8259
 * §8.2: `"\ud800"` parses, but an unpaired surrogate is no character, and D1
 * (SQLite, UTF-8) keeps U+FFFD in its place, so a body accepted with one would
 * be stored as something else than what was sent and answered. Walked without
 * recursion: a capped body can still nest thousands of levels deep.
 */
export function illFormedStringPath(value: unknown): string | null {
  const pending: [unknown, string][] = [[value, "$"]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, path] = next;
    if (typeof item === "string") {
      if (!item.isWellFormed()) return path;
    } else if (Array.isArray(item)) {
      item.forEach((element, index) => {
        pending.push([element, `${path}[${index}]`]);
      });
    } else if (typeof item === "object" && item !== null) {
      for (const [key, member] of Object.entries(item)) {
        if (!key.isWellFormed()) return path;
        pending.push([member, `${path}.${key}`]);
      }
    }
  }
  return null;
}

/**
 * The JSON object a request carries (`application/json`, read under
 * `maxBytes`: BodyTooLargeError past it), for the token Worker's JSON APIs
 * (admin, agent, SSF). Anything else is 400 `invalid_body`: another
 * Content-Type, bytes that are not UTF-8 or not JSON (RFC 8259 §8.1), a
 * value that is not an object, or a string that is not well-formed Unicode.
 */
export async function readJsonObject(request: Request, maxBytes: number): Promise<Record<string, unknown>> {
  const type = (request.headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") throw new HttpError("invalid_body", "the body must be application/json");
  const bytes = await readBodyCapped(request, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new HttpError("invalid_body", "the body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError("invalid_body", "the body must be a JSON object");
  }
  const illFormed = illFormedStringPath(value);
  if (illFormed !== null) {
    throw new HttpError("invalid_body", `${illFormed}: not well-formed Unicode (an unpaired surrogate, RFC 8259 §8.2)`);
  }
  return value as Record<string, unknown>;
}
