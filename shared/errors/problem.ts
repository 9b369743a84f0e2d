import type { JsonErrorBody } from "./json-error.ts";

/**
 * RFC 9457 problem details, the admin API's error format (and only the admin
 * API's: the OAuth endpoints keep RFC 6749 §5.2 JSON, the gateway RFC 6750).
 *
 * Every problem carries:
 * - `type`: `urn:mono-auth:problem:<code>`, one stable URI per error code
 *   (RFC 9457 §3.1.1 allows a non-dereferenceable URI; a URN names the
 *   problem the same way on every deployment, whatever its issuer);
 * - `title`: a short summary of the type, the same for every occurrence
 *   (§3.1.3); `status` (§3.1.2) and `detail`, this occurrence (§3.1.4);
 * - `code`: the stable code as an extension member (§3.2);
 * - `error` and `error_description`: the same code and detail under the
 *   names every other Mono-Auth error uses (shared/errors/json-error.ts), so
 *   one parser (the CLI's, a script's) still reads every error; and any
 *   extension the error had (`policy_error`, `path`, `failures`, …).
 */
export const PROBLEM_TYPE_PREFIX = "urn:mono-auth:problem:";
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export function problemType(code: string): string {
  return `${PROBLEM_TYPE_PREFIX}${code}`;
}

/** The titles of the codes the admin API answers with (shared/errors/http.ts, bearer.ts). */
export const PROBLEM_TITLES: Readonly<Record<string, string>> = {
  unauthorized: "Authentication required",
  invalid_request: "Malformed credentials",
  invalid_token: "Invalid access token",
  insufficient_scope: "Insufficient scope",
  forbidden: "Forbidden",
  not_found: "Not found",
  invalid_body: "Invalid request",
  invalid_query: "Invalid query parameter",
  conflict: "Conflict",
  policy_tests_failed: "Policy tests failed",
  method_not_allowed: "Method not allowed",
  payload_too_large: "Request body too large",
  rate_limited: "Too many requests",
  temporarily_unavailable: "Temporarily unavailable",
  invalid_connect_link: "Connect link not usable",
  provider_endpoint_unsupported: "Provider endpoint not supported",
  server_error: "Internal error",
};

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  error: string;
  error_description: string;
  [extension: string]: unknown;
}

/** The problem for a shared/errors JSON error body with its status. */
export function problemBody(status: number, body: JsonErrorBody | Record<string, unknown>): ProblemBody {
  const { error, error_description, ...extensions } = body as Record<string, unknown>;
  const code = typeof error === "string" ? error : "server_error";
  const detail = typeof error_description === "string" ? error_description : (PROBLEM_TITLES[code] ?? code);
  return {
    ...extensions,
    type: problemType(code),
    title: PROBLEM_TITLES[code] ?? code.replaceAll("_", " "),
    status,
    detail,
    code,
    error: code,
    error_description: detail,
  };
}

export function problemResponse(status: number, body: ProblemBody, headers?: HeadersInit): Response {
  const out = new Headers(headers);
  out.set("Content-Type", PROBLEM_CONTENT_TYPE);
  out.set("Cache-Control", "no-store");
  return new Response(JSON.stringify(body), { status, headers: out });
}

/**
 * An error answer written by one of the shared/errors helpers, as a problem:
 * same status, same headers (a `WWW-Authenticate` challenge, `Allow`,
 * `Retry-After` stay), the body restated. Anything else (a success, a
 * problem already, a body that is not one of ours) is returned as it is.
 */
export async function asProblemResponse(response: Response): Promise<Response> {
  if (response.status < 400) return response;
  const type = (response.headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") return response;
  const body: unknown = await response
    .clone()
    .json()
    .catch(() => undefined);
  if (typeof body !== "object" || body === null || typeof (body as { error?: unknown }).error !== "string") {
    return response;
  }
  return problemResponse(response.status, problemBody(response.status, body as JsonErrorBody), response.headers);
}
