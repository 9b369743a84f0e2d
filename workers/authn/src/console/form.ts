import type { ConsoleContext } from "./types.ts";

/** A console form's fields (application/x-www-form-urlencoded, read from the capped body). */
export function formFields(c: ConsoleContext): URLSearchParams {
  const type = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  return type === "application/x-www-form-urlencoded"
    ? new URLSearchParams(new TextDecoder().decode(c.var.body))
    : new URLSearchParams();
}

/** A space- or comma-separated list field. */
export function listField(form: URLSearchParams, name: string): string[] {
  return (form.get(name) ?? "").split(/[\s,]+/).filter(Boolean);
}
