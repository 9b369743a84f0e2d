import type { Handler } from "hono";
import type { ZodType } from "zod";
import type { AdminApp, AdminEnv } from "./types.ts";

export type AdminMethod = "get" | "post" | "put" | "patch" | "delete";

/**
 * What a route of the admin API is, for its OpenAPI operation
 * (openapi/document.ts): declared next to its handler, in the same call, so
 * the document cannot describe a route that does not exist. The handler
 * still validates its input itself (admin/validate.ts, with error details a
 * schema cannot give); the schemas describe the same shapes.
 */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** The request body (JSON). */
  body?: ZodType;
  /** Whether the body may be left out (e.g. a rollback's options). */
  bodyOptional?: boolean;
  /** Query parameters, each a schema (all optional). */
  query?: Readonly<Record<string, ZodType>>;
  /** The success answer's JSON body; absent: a JSON object. */
  response?: ZodType;
  /** The success status (default 200). */
  status?: 200 | 201;
  /** The answer is a stream (text/event-stream or a WebSocket), not JSON. */
  stream?: boolean;
  /**
   * Who may call it besides platform operators (admin/authorize.ts):
   * `org` for a route under `/orgs/{org}` (an admin of that org), `self`
   * for one that narrows its answer to the caller's orgs itself; absent:
   * platform operators only.
   */
  orgAdmins?: "org" | "self";
}

export interface RegisteredRoute extends RouteDoc {
  method: AdminMethod;
  /** Hono's path syntax (`/orgs/:org/clients/:id`). */
  path: string;
}

const registries = new WeakMap<AdminApp, RegisteredRoute[]>();

/**
 * Registers a route and its description: `route(admin, "post", "/orgs",
 * { summary, body, response }, handler)`. One call per route, in the noun's
 * module (admin/<noun>.ts).
 */
export function route<P extends string>(
  admin: AdminApp,
  method: AdminMethod,
  path: P,
  doc: RouteDoc,
  handler: Handler<AdminEnv, P>,
): void {
  admin.on(method.toUpperCase(), path, handler);
  let registry = registries.get(admin);
  if (!registry) {
    registry = [];
    registries.set(admin, registry);
  }
  registry.push({ ...doc, method, path });
}

/** The routes registered with their descriptions, in registration order. */
export function registeredRoutes(admin: AdminApp): readonly RegisteredRoute[] {
  return registries.get(admin) ?? [];
}
