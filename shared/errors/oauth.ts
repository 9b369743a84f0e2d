import { REALM } from "../contracts/endpoints.ts";
import { jsonErrorResponse } from "./json-error.ts";

/**
 * The one error helper for OAuth endpoints (token, revocation, introspection):
 * RFC 6749 §5.2 JSON bodies, `Cache-Control: no-store` (§5.1), and the right
 * status for each code.
 */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  /** RFC 8693 §2.2.2 */
  | "invalid_target"
  /** RFC 9449 §5: the DPoP proof at the token endpoint is missing or invalid. */
  | "invalid_dpop_proof"
  /** RFC 9449 §8: the proof lacks the nonce the server requires (a `DPoP-Nonce` header carries one). */
  | "use_dpop_nonce"
  /** RFC 7009 §2.2.1: the server does not revoke tokens of this type. */
  | "unsupported_token_type"
  /** RFC 7591 §3.2.2: a registration's redirect URI is refused. */
  | "invalid_redirect_uri"
  /** RFC 7591 §3.2.2: a registration's other metadata is refused. */
  | "invalid_client_metadata"
  /** RFC 6749 §4.1.2.1; at the registration endpoint: registration is off (workers/token/src/oidc/client-registration.ts). */
  | "access_denied"
  | "server_error"
  | "temporarily_unavailable";

const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
  unsupported_token_type: 400,
  invalid_redirect_uri: 400,
  invalid_client_metadata: 400,
  access_denied: 403,
  server_error: 500,
  temporarily_unavailable: 503,
};

export class OAuthError extends Error {
  override readonly name = "OAuthError";
  readonly status: number;
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
  ) {
    super(`${code}: ${description}`);
    this.status = STATUS[code];
  }
}

export const NO_STORE_HEADERS = {
  "Cache-Control": "no-store",
  Pragma: "no-cache",
} as const;

/** RFC 6749 §5.2: `error_description` is limited to %x20-21 / %x23-5B / %x5D-7E. */
const NOT_IN_DESCRIPTION = /[^\x20\x21\x23-\x5B\x5D-\x7E]/gu;

/**
 * An OAuth error's description as RFC 6749 §5.2 allows it: any other
 * character is shown as `?`. Our own descriptions are written in that set
 * and a client's bytes are cleaned where they are quoted (the token Worker's
 * describedValue); this is the last guarantee for every endpoint answering
 * through this helper, so a description that quotes a client (a parameter's
 * name, a foreign refusal restated) cannot reach the client in other bytes.
 */
export function oauthDescription(text: string): string {
  return text.replace(NOT_IN_DESCRIPTION, "?");
}

export function oauthErrorResponse(error: OAuthError): Response {
  const headers = new Headers(NO_STORE_HEADERS);
  // RFC 6749 §5.2: a 401 for invalid_client names the scheme the client
  // should have used.
  if (error.status === 401) headers.set("WWW-Authenticate", `Basic realm="${REALM}"`);
  return jsonErrorResponse(
    error.status,
    { error: error.code, error_description: oauthDescription(error.description) },
    headers,
  );
}

/**
 * Anything that is not an OAuthError is our fault: it becomes a bare
 * server_error, and the detail stays in the log, never in the response.
 */
export function toOAuthErrorResponse(error: unknown): Response {
  if (error instanceof OAuthError) return oauthErrorResponse(error);
  console.error("oauth endpoint failed", error);
  return oauthErrorResponse(new OAuthError("server_error", "internal error"));
}
