/**
 * SCIM 2.0 error responses (RFC 7644 §3.12), the SCIM endpoints' one error
 * format (workers/authn/src/scim/): `schemas` (the Error message URN),
 * `status` (the HTTP status as a string, §3.12), `scimType` where §3.12
 * table 9 defines one for the case, and `detail`. Like the admin API's
 * problem details (problem.ts), the body also carries `error` and
 * `error_description` (shared/errors/json-error.ts), so one parser still
 * reads every Mono-Auth error; nothing internal goes in.
 */
import { REALM } from "../contracts/endpoints.ts";

export const SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";
export const SCIM_CONTENT_TYPE = "application/scim+json";

/** RFC 7644 §3.12 table 9, the types this server answers with. */
export type ScimType =
  | "invalidFilter"
  | "uniqueness"
  | "mutability"
  | "invalidSyntax"
  | "invalidPath"
  | "noTarget"
  | "invalidValue"
  | "invalidVers"
  | "tooMany";

/**
 * Codes of errors without a `scimType` (§3.12 defines none for them): the
 * bearer token is missing or not this server's (401), the resource is not
 * the token's org's (404), the method or path is not SCIM (404/405), a
 * failure to record a revocation (503), our own failure (500, nothing of
 * its cause in the body).
 */
export type ScimPlainError =
  | "unauthorized"
  | "not_found"
  | "method_not_allowed"
  | "unavailable"
  | "payload_too_large"
  | "server_error";

const PLAIN_STATUS: Record<ScimPlainError, number> = {
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unavailable: 503,
  server_error: 500,
};

/** §3.12 table 9: every scimType but `uniqueness` is a 400; `uniqueness` is 409. */
function scimTypeStatus(type: ScimType): number {
  return type === "uniqueness" ? 409 : 400;
}

/** A SCIM refusal, thrown where it is decided and written by `scimErrorResponse`. */
export class ScimError extends Error {
  override readonly name = "ScimError";
  readonly status: number;
  constructor(
    readonly type: ScimType | ScimPlainError,
    readonly detail: string,
  ) {
    super(detail);
    this.status = type in PLAIN_STATUS ? PLAIN_STATUS[type as ScimPlainError] : scimTypeStatus(type as ScimType);
  }
}

/**
 * RFC 9110 §10.2.3 `Retry-After` on every SCIM 503: each one (a revocation
 * the org's object did not record, owed role cut-offs a Group write works
 * off a share of at a time, a write that kept losing to concurrent ones)
 * is cured by the directory's retry, and some directories wait for the
 * header before retrying at all. Five seconds: a backlog of owed cut-offs
 * drains at one share per retry, while an object that is failing is not
 * asked again at once.
 */
export const SCIM_RETRY_AFTER_SECONDS = 5;

export function scimErrorResponse(error: ScimError): Response {
  const scimType = error.type in PLAIN_STATUS ? undefined : error.type;
  const body = {
    schemas: [SCIM_ERROR_SCHEMA],
    status: String(error.status),
    ...(scimType ? { scimType } : {}),
    detail: error.detail,
    error: error.type,
    error_description: error.detail,
  };
  const headers = new Headers({ "Content-Type": SCIM_CONTENT_TYPE, "Cache-Control": "no-store" });
  // RFC 7644 §2 authenticates with RFC 6750 bearer tokens: a 401 carries its challenge (§3).
  if (error.status === 401) headers.set("WWW-Authenticate", `Bearer realm="${REALM}"`);
  if (error.status === 503) headers.set("Retry-After", String(SCIM_RETRY_AFTER_SECONDS));
  return new Response(JSON.stringify(body), { status: error.status, headers });
}
