import type { Env, Hono } from "hono";
import { httpErrorResponse } from "../errors/http.ts";

/**
 * The methods we answer on every path we serve (served, or 405), in the order `Allow` names them; the
 * gateway passes these, and only these, to a public route (workers/gateway/src/forward/method-gate.ts).
 */
export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** Hono answers HEAD with the GET route, so HEAD is never registered itself. */
const REGISTERED = METHODS.filter((method) => method !== "HEAD");

/** Hono registers `use()` middleware and `all()` handlers under this method. */
const EVERY_METHOD = "ALL";

/** What a Worker answers a wrong method with, given the `Allow` value: its own error format. */
export type MethodNotAllowedResponse = (allow: string) => Response;

/** The protocol-neutral answer (shared/errors/http.ts). */
export const methodNotAllowed: MethodNotAllowedResponse = (allow) =>
  httpErrorResponse("method_not_allowed", `use ${allow}`, { Allow: allow });

/**
 * RFC 9110 §15.5.6: a path we serve, asked with a method it does not take,
 * is 405 with `Allow` naming the methods it does take — not the 404 of a
 * path that does not exist. Called once, after every route is registered:
 * for each route path it registers a 405 for the methods no route serves
 * there. A GET route also serves HEAD (Hono answers HEAD with the GET
 * route), so `Allow` names both.
 *
 * Handlers registered earlier still come first: a wider route that serves
 * the method (a `/*` or a `:param` path) answers before any 405. A sub-app
 * mounted with its own error format calls this on itself before it is
 * mounted; its paths then serve every method and are skipped here.
 */
export function answerUnsupportedMethods<E extends Env>(
  app: Hono<E>,
  respond: MethodNotAllowedResponse = methodNotAllowed,
): void {
  const served = new Map<string, Set<string>>();
  for (const { method, path } of app.routes) {
    if (method === EVERY_METHOD) continue;
    const methods = served.get(path) ?? new Set<string>();
    methods.add(method.toUpperCase());
    served.set(path, methods);
  }
  for (const [path, methods] of served) {
    const unsupported = REGISTERED.filter((method) => !methods.has(method));
    if (unsupported.length === 0) continue;
    const allow = allowHeader(methods);
    app.on(unsupported, path, () => respond(allow));
  }
}

/** `Allow` in one order everywhere; a GET route also answers HEAD. */
function allowHeader(methods: ReadonlySet<string>): string {
  const named: string[] = METHODS.filter((method) => methods.has(method) || (method === "HEAD" && methods.has("GET")));
  // A method outside the usual set (none is registered today) still goes in.
  for (const method of methods) if (!named.includes(method)) named.push(method);
  return named.join(", ");
}
