import { z } from "zod";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { PROBLEM_CONTENT_TYPE, PROBLEM_TITLES, problemType } from "../../../../shared/errors/problem.ts";
import { httpErrorStatus, type HttpErrorCode } from "../../../../shared/errors/http.ts";
import { type AdminMethod, type RegisteredRoute, registeredRoutes } from "../admin/route.ts";
import type { AdminApp } from "../admin/types.ts";

/** The OpenAPI version of the document (JSON Schema 2020-12 dialect, which zod emits). */
export const OPENAPI_VERSION = "3.1.0";
/** The admin API's version, as its path names it (ENDPOINT.admin). */
const API_VERSION = "1";

type JsonObject = Record<string, unknown>;

const METHODS: readonly AdminMethod[] = ["get", "post", "put", "patch", "delete"];
/** A path parameter in Hono's syntax, with its optional pattern: `:version{[0-9]{1,9}}`. */
const PATH_PARAMETER = /:([A-Za-z_][A-Za-z0-9_]*)(\{((?:[^{}]|\{[^{}]*\})*)\})?/g;

/** `/orgs/:org/policies/:version{[0-9]{1,9}}` → `/orgs/{org}/policies/{version}`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(PATH_PARAMETER, (_all, name: string) => `{${name}}`);
}

function pathParameters(honoPath: string): JsonObject[] {
  return [...honoPath.matchAll(PATH_PARAMETER)].map((match) => ({
    name: match[1],
    in: "path",
    required: true,
    schema: match[3] ? { type: "string", pattern: `^${match[3]}$` } : { type: "string" },
  }));
}

/** zod's JSON Schema (2020-12), without the `$schema` keyword an embedded schema must not repeat. */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonObject;
  return rest;
}

function operationId(method: string, path: string): string {
  const words = path
    .split("/")
    .filter(Boolean)
    .map((segment) => segment.replace(/^:/, "by-").replace(/\{.*$/, ""))
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return [method, ...words].map((w, i) => (i === 0 ? w : w[0]?.toUpperCase() + w.slice(1))).join("");
}

/** The noun a path is about: `/orgs/{org}/clients/…` → `clients`, `/keys/rotate` → `keys`. */
function tagOf(path: string): string {
  const segments = path.split("/").filter(Boolean);
  const noun = segments[0] === "orgs" && segments.length > 2 ? segments[2] : segments[0];
  return noun ?? "admin";
}

const PROBLEM_REF = { $ref: "#/components/responses/Problem" };

function operation(route: RegisteredRoute | undefined, method: AdminMethod, path: string): JsonObject {
  const success = String(route?.status ?? 200);
  const query = Object.entries(route?.query ?? {}).map(([name, schema]) => ({
    name,
    in: "query",
    required: false,
    schema: jsonSchema(schema, "input"),
  }));
  const content = route?.stream
    ? { "text/event-stream": { schema: { type: "string" } } }
    : { "application/json": { schema: route?.response ? jsonSchema(route.response, "output") : { type: "object" } } };
  const access =
    route?.orgAdmins === "org"
      ? "Platform operators, and admins (owner or admin role) of the organization in the path."
      : route?.orgAdmins === "self"
        ? "Platform operators; org admins see their own organizations only."
        : "Platform operators only.";
  return {
    operationId: operationId(method, path),
    summary: route?.summary ?? `${method.toUpperCase()} ${openApiPath(path)}`,
    ...(route?.description ? { description: route.description } : {}),
    tags: [tagOf(path)],
    "x-access": access,
    parameters: [...pathParameters(path), ...query],
    ...(route?.body
      ? {
          requestBody: {
            required: !route.bodyOptional,
            content: { "application/json": { schema: jsonSchema(route.body, "input") } },
          },
        }
      : {}),
    responses: {
      [success]: { description: route?.summary ?? "success", content },
      "400": PROBLEM_REF,
      "401": PROBLEM_REF,
      "403": PROBLEM_REF,
      "404": PROBLEM_REF,
      default: PROBLEM_REF,
    },
  };
}

/** Every problem type the admin API answers with, for the document's readers (RFC 9457 §4). */
function problemTypes(): JsonObject[] {
  return Object.entries(PROBLEM_TITLES).map(([code, title]) => ({
    type: problemType(code),
    code,
    title,
    ...(code in STATUS_OF_BEARER ? { status: STATUS_OF_BEARER[code] } : { status: statusOf(code) }),
  }));
}

const STATUS_OF_BEARER: Readonly<Record<string, number>> = {
  unauthorized: 401,
  invalid_request: 400,
  invalid_token: 401,
  insufficient_scope: 403,
};

function statusOf(code: string): number {
  return httpErrorStatus(code as HttpErrorCode) ?? 500;
}

/**
 * The admin API's OpenAPI 3.1 document, derived from the router itself:
 * every route Hono holds is an operation (so a route registered without a
 * description still appears), described by what admin/route.ts recorded
 * for it. Served at ENDPOINT.adminOpenApi.
 */
export function openApiDocument(admin: AdminApp, issuer: string): JsonObject {
  const described = new Map(registeredRoutes(admin).map((r) => [`${r.method} ${r.path}`, r]));
  const paths: Record<string, JsonObject> = {};
  for (const { method: upper, path } of admin.routes) {
    const method = upper.toLowerCase() as AdminMethod;
    if (!METHODS.includes(method)) continue; // middleware (`use`) and HEAD
    const item = (paths[openApiPath(path)] ??= {});
    item[method] = operation(described.get(`${method} ${path}`), method, path);
  }
  const openApiOperation = paths["/openapi.json"]?.get as JsonObject | undefined;
  if (openApiOperation) openApiOperation.security = [];
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: "Mono-Auth admin API",
      version: API_VERSION,
      description:
        "The operator API of one Mono-Auth issuer. Authenticate with an access token for the admin audience " +
        "(`<issuer>/admin/v1`) with the `admin` scope, minted by client credentials for a platform operator client " +
        "(`mono-auth operator bootstrap`). Errors are RFC 9457 problem details (`application/problem+json`) whose " +
        "`type` is `urn:mono-auth:problem:<code>`; `x-problem-types` lists them.",
    },
    servers: [{ url: `${issuer}${ENDPOINT.admin}` }],
    security: [{ operatorToken: [] }],
    paths,
    components: {
      securitySchemes: {
        operatorToken: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "RFC 9068 access token: aud = <issuer>/admin/v1, scope contains admin (RFC 6750 §2.1).",
        },
      },
      schemas: { Problem: PROBLEM_SCHEMA },
      responses: {
        Problem: {
          description: "RFC 9457 problem details",
          content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: "#/components/schemas/Problem" } } },
        },
      },
    },
    "x-problem-types": problemTypes(),
  };
}

const PROBLEM_SCHEMA: JsonObject = {
  type: "object",
  required: ["type", "title", "status", "detail", "code"],
  properties: {
    type: { type: "string", format: "uri", description: "urn:mono-auth:problem:<code>" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string", description: "the stable error code" },
    error: { type: "string", description: "the same code, as every Mono-Auth error names it" },
    error_description: { type: "string", description: "the same as detail" },
  },
  additionalProperties: true,
};

const cache = new WeakMap<AdminApp, Map<string, string>>();

/** The document as JSON text, built once per router and issuer. */
export function openApiJson(admin: AdminApp, issuer: string): string {
  let byIssuer = cache.get(admin);
  if (!byIssuer) {
    byIssuer = new Map();
    cache.set(admin, byIssuer);
  }
  let text = byIssuer.get(issuer);
  if (text === undefined) {
    text = JSON.stringify(openApiDocument(admin, issuer));
    byIssuer.set(issuer, text);
  }
  return text;
}
