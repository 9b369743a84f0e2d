import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { CLIENT_ASSERTION_ALGS } from "./client-keys.ts";
import { clientSecretBasic, clientSecretPost } from "./methods/client-secret.ts";
import { publicClient } from "./methods/none.ts";
import { privateKeyJwt } from "./methods/private-key-jwt.ts";
import type {
  AuthenticatedClient,
  ClientAuthContext,
  ClientAuthenticator,
  ClientAuthMethod,
  ClientAuthRequest,
} from "./types.ts";

/**
 * How each credential-bearing method shows on a request (RFC 6749 §2.3.1,
 * RFC 7523 §2.2), known whether or not it is accepted here, so a request
 * that uses two is refused whichever two they are. A request that shows
 * none of them is a public client's (`none`).
 */
const PRESENTATIONS: readonly { method: ClientAuthMethod; presented: (request: ClientAuthRequest) => boolean }[] = [
  // Any Authorization header is an attempt at HTTP authentication; only
  // the Basic scheme (§2.3.1) can succeed.
  { method: "client_secret_basic", presented: (r) => r.headers.has("Authorization") },
  { method: "client_secret_post", presented: (r) => r.params.has("client_secret") },
  {
    method: "private_key_jwt",
    presented: (r) => r.params.has("client_assertion") || r.params.has("client_assertion_type"),
  },
];

/** The methods this token endpoint accepts, each in its own module under methods/. */
const AUTHENTICATORS: ReadonlyMap<ClientAuthMethod, ClientAuthenticator> = new Map(
  [publicClient, clientSecretBasic, clientSecretPost, privateKeyJwt].map((a) => [a.method, a]),
);

/** RFC 8414 §2 `token_endpoint_auth_methods_supported`. */
export const TOKEN_ENDPOINT_AUTH_METHODS: readonly ClientAuthMethod[] = [...AUTHENTICATORS.keys()];

/**
 * RFC 8414 §2 `token_endpoint_auth_signing_alg_values_supported`: required
 * when `private_key_jwt` is offered; never `none`.
 */
export const TOKEN_ENDPOINT_AUTH_SIGNING_ALGS: readonly string[] = AUTHENTICATORS.has("private_key_jwt")
  ? CLIENT_ASSERTION_ALGS
  : [];

/**
 * Determines the client a token request is made by (RFC 6749 §2.3). Every
 * grant gets its client from here, so no grant reads `client_id` itself.
 */
export async function authenticateClient(
  request: ClientAuthRequest,
  context: ClientAuthContext,
): Promise<AuthenticatedClient> {
  const presented = PRESENTATIONS.filter((p) => p.presented(request)).map((p) => p.method);
  // §2.3: "The client MUST NOT use more than one authentication method in each request."
  if (presented.length > 1) {
    throw new OAuthError("invalid_request", "more than one client authentication method used");
  }
  const method = presented[0] ?? "none";
  const authenticator = AUTHENTICATORS.get(method);
  // §5.2: an unsupported authentication method is invalid_client.
  if (!authenticator) throw new OAuthError("invalid_client", `client authentication method ${method} is not supported`);
  return authenticator.authenticate(request, context);
}
