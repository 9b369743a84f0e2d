/**
 * A string member of a request body Better Auth parsed (`ctx.body`, typed
 * `unknown` at a plugin's hook): its value, or "" when the body is not an
 * object, lacks it, or holds something other than a string there. Hooks
 * that act on one field read it so, and leave every other shape to Better
 * Auth's own validation, which answers it.
 */
export function bodyText(body: unknown, name: string): string {
  if (body === null || typeof body !== "object" || !Object.hasOwn(body, name)) return "";
  const value = (body as Record<string, unknown>)[name];
  return typeof value === "string" ? value : "";
}
