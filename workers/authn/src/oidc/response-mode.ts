import { RESPONSE_MODE } from "../../../../shared/contracts/oidc.ts";

/**
 * What is wrong with the request's `response_mode`, if anything. The
 * provider answers in the query only (RESPONSE_MODE; discovery says
 * `response_modes_supported: ["query"]`), but Better Auth 1.7 lets any other
 * mode through unread: `form_post`, `web_message`, `fragment` or junk got the
 * code in the query all the same, where a client that asked for another mode
 * does not look for it (and for its own validation errors Better Auth did
 * honour `fragment`). A mode the server does not support is an invalid
 * parameter value: `invalid_request` (OAuth 2.0 Multiple Response Type
 * Encoding Practices §2.1, OIDC Core §3.1.2.1 and §3.1.2.6).
 *
 * The refusal goes to the registered redirect URI in the query
 * (authorize-refusal.ts), as Keycloak answers it, rather than only on a page:
 * RFC 6749 §4.1.2.1 sends every error there once the redirect URI is
 * verified, so the client learns why instead of waiting for an answer that
 * never comes, and the query is the code flow's default mode (Multiple
 * Response Types §2.1), the one every code-flow client reads; a mode the
 * provider cannot produce cannot carry it.
 *
 * An empty `response_mode` is treated as absent (OIDC Core §3.1.2.1); a
 * repeated one is refused (RFC 6749 §3.1), as Better Auth ignored that too.
 */
export function responseModeProblem(params: URLSearchParams): string | undefined {
  const modes = params.getAll("response_mode");
  if (modes.length > 1) return "response_mode must not be repeated (RFC 6749 §3.1)";
  const mode = modes[0];
  if (!mode || mode === RESPONSE_MODE) return undefined;
  return `response_mode must be ${RESPONSE_MODE}, the only one this provider serves (OAuth 2.0 Multiple Response Type Encoding Practices §2.1)`;
}
