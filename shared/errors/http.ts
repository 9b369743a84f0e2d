import { jsonErrorResponse } from "./json-error.ts";

/**
 * Errors that belong to no protocol (an unknown path, a wrong method, a body
 * too large, a flood, our own failure). Each code is stable and has one
 * status; tests assert the code.
 */
export type HttpErrorCode =
  | "not_found"
  /** No credentials the endpoint accepts (the console's session is gone); bearer endpoints use RFC 6750 instead. */
  | "unauthorized"
  /** A request body that is not what the endpoint accepts (the admin API names the field). */
  | "invalid_body"
  /** A query parameter a read cannot use (the admin API names the parameter); the body is not involved. */
  | "invalid_query"
  /** The caller is known but may not do this. */
  | "forbidden"
  /** The request contradicts what exists (a slug or issuer already taken). */
  | "conflict"
  /** A policy version's own test cases fail, so it is not published (workers/token/src/policies/). */
  | "policy_tests_failed"
  | "method_not_allowed"
  | "payload_too_large"
  | "rate_limited"
  /**
   * Password sign-in to an account past its consecutive-failure cap (NIST SP 800-63B §5.2.2), until a
   * password reset; the same for an unknown address (workers/authn/src/limits/sign-in-throttle.ts).
   */
  | "account_locked"
  | "cross_origin_post"
  | "missing_gateway_headers"
  /** A request path the gateway cannot normalise safely (workers/gateway/src/routing/normalise-path.ts). */
  | "invalid_path"
  /**
   * A request header whose value its field's grammar does not allow, where the gateway must read it
   * (an OPTIONS request's Max-Forwards, RFC 9110 §7.6.2: workers/gateway/src/forward/method-gate.ts).
   */
  | "invalid_header"
  /** An MCP request whose JSON-RPC body is unreadable, or whose Mcp-* headers disagree with it. */
  | "invalid_mcp_request"
  /** A downstream's refusal of a request whose gateway assertion is missing or does not verify. */
  | "invalid_gateway_assertion"
  | "upstream_response_refused"
  /**
   * A registered upstream the outbound URL guard refuses (shared/http/outbound-url.ts): its row is at
   * fault, not this Worker, so it is a bad gateway (RFC 9110 §15.6.3), never fetched.
   */
  | "upstream_forbidden"
  /**
   * The gateway could not get an answer from a route's upstream (unreachable, the connection lost, a
   * binding that threw): the upstream failed, not the caller nor the gateway (RFC 9110 §15.6.3).
   */
  | "upstream_unreachable"
  | "temporarily_unavailable"
  /** The saved-token vault (workers/token/src/vault/): no API ever gives out a saved token. */
  | "saved_token_not_readable"
  /** A vault callback whose state is missing, unknown, spent, expired or another session's (RFC 6749 §10.12). */
  | "invalid_state"
  /** A vault connect link (shared/contracts/vault.ts VAULT_CONNECT_LINK) that is unknown, already used or expired. */
  | "invalid_connect_link"
  /**
   * A vault provider whose authorization endpoint the confirming page cannot allow its form to go on to
   * (not a plain origin for CSP `form-action`, CSP 3 §6.4.1): the browser would refuse the redirect, so
   * the link is not spent. Its row has to be fixed, not the page reloaded (RFC 9110 §15.5.21).
   */
  | "provider_endpoint_unsupported"
  /** The provider refused a vault connection flow, or its token endpoint failed. */
  | "connection_failed"
  /** An account unlock link that is forged, altered, expired or for an address the account no longer has. */
  | "invalid_link"
  /** An account unlock link already spent: it works once (workers/authn/src/limits/account-unlock.ts). */
  | "link_used"
  | "server_error";

const STATUS: Record<HttpErrorCode, number> = {
  not_found: 404,
  unauthorized: 401,
  invalid_body: 400,
  invalid_query: 400,
  forbidden: 403,
  conflict: 409,
  policy_tests_failed: 422,
  method_not_allowed: 405,
  payload_too_large: 413,
  rate_limited: 429,
  account_locked: 403,
  cross_origin_post: 403,
  missing_gateway_headers: 403,
  invalid_path: 400,
  invalid_header: 400,
  invalid_mcp_request: 400,
  invalid_gateway_assertion: 403,
  upstream_response_refused: 502,
  upstream_forbidden: 502,
  upstream_unreachable: 502,
  temporarily_unavailable: 503,
  saved_token_not_readable: 403,
  invalid_state: 400,
  invalid_connect_link: 400,
  provider_endpoint_unsupported: 422,
  connection_failed: 502,
  invalid_link: 400,
  link_used: 400,
  server_error: 500,
};

export function httpErrorStatus(code: HttpErrorCode): number {
  return STATUS[code];
}

/**
 * A refusal that belongs to no protocol, thrown where it is decided and
 * answered where the response is written (e.g. a client's mint rate limit,
 * thrown by a grant and answered by the token endpoint).
 */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly code: HttpErrorCode,
    readonly description: string,
    readonly headers?: Record<string, string>,
  ) {
    super(`${code}: ${description}`);
  }
}

export function httpErrorResponse(code: HttpErrorCode, description: string, headers?: HeadersInit): Response {
  return jsonErrorResponse(STATUS[code], { error: code, error_description: description }, headers);
}

/** For a Worker's last-resort handler: log the cause, answer without it. */
export function internalErrorResponse(where: string, error: unknown): Response {
  console.error(`${where} failed`, error);
  return httpErrorResponse("server_error", "internal error");
}
