/**
 * Why a Client ID Metadata Document was not accepted. Each refusal has a
 * stable code (tests and the audit name it); at the authorization endpoint
 * every one of them is RFC 6749 `invalid_client`: the client_id could not be
 * resolved to a client (draft-ietf-oauth-client-id-metadata-document §4).
 */
export const CIMD_ERROR = {
  /** The client_id is not an https URL with a path, or carries credentials, a fragment or dot segments (§3). */
  invalidClientId: "ERR_CIMD_CLIENT_ID_URL",
  /** The host is a loopback, private, link-local, metadata or otherwise special-use address (§6.5, RFC 6890). */
  forbiddenAddress: "ERR_CIMD_FORBIDDEN_ADDRESS",
  /** The host answered with a redirect: none is followed (§6.5: a redirect could lead to an internal address). */
  redirect: "ERR_CIMD_REDIRECT_REFUSED",
  /** The document is larger than CIMD_MAX_BYTES. */
  tooLarge: "ERR_CIMD_TOO_LARGE",
  /** The host did not answer in full within CIMD_TIMEOUT_MS. */
  timeout: "ERR_CIMD_TIMEOUT",
  /** The host could not be reached, or answered other than 200. */
  unavailable: "ERR_CIMD_UNAVAILABLE",
  /** The answer is not a JSON object, or its metadata is not acceptable (redirect_uris, auth method, secrets). */
  invalidDocument: "ERR_CIMD_INVALID_DOCUMENT",
  /** The document's `client_id` is not exactly the URL it was fetched from (§4.1). */
  clientIdMismatch: "ERR_CIMD_CLIENT_ID_MISMATCH",
} as const;

export type CimdErrorCode = (typeof CIMD_ERROR)[keyof typeof CIMD_ERROR];

export class CimdError extends Error {
  override readonly name = "CimdError";
  /** RFC 6749 §5.2 / §4.1.2.1: what the authorization and token endpoints answer. */
  readonly oauthError = "invalid_client";
  constructor(
    readonly code: CimdErrorCode,
    readonly description: string,
  ) {
    super(`${code}: ${description}`);
  }
}

/**
 * A refusal as the token endpoint gives it when the client's document could
 * not be resolved (client-discovery.ts): RFC 6749 §5.2 `invalid_client`,
 * the stable code first. One spelling, so the token Worker's early check
 * (oidc/live-code-assertion.ts) answers as Better Auth does.
 */
export function cimdRefusalBody(error: CimdError): { error: "invalid_client"; error_description: string } {
  return { error: error.oauthError, error_description: `${error.code}: ${error.description}` };
}
