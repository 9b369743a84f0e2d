import { verifySecret } from "../../../../../shared/crypto/secret-hash.ts";
import { OAuthError } from "../../../../../shared/errors/oauth.ts";
import { AUTHENTICATION_FAILED, authenticatedClient, findConfidentialClient } from "../confidential-client.ts";
import type { ClientAuthContext, ClientAuthenticator, ClientAuthRequest } from "../types.ts";

/** Longest client id or secret read; ours are far shorter. */
const MAX_CREDENTIAL_LENGTH = 256;

/**
 * Checks a client id and secret pair for `method`: the stored hash is
 * compared in constant time (shared/crypto/secret-hash.ts, RFC 6749 §10.3).
 */
async function authenticateWithSecret(
  clientId: string,
  secret: string,
  method: "client_secret_basic" | "client_secret_post",
  context: ClientAuthContext,
) {
  if (clientId.length > MAX_CREDENTIAL_LENGTH || secret.length > MAX_CREDENTIAL_LENGTH) {
    throw new OAuthError("invalid_client", AUTHENTICATION_FAILED);
  }
  const client = await findConfidentialClient(clientId, method, context);
  if (!(await verifySecret(secret, client.secretHash))) throw new OAuthError("invalid_client", AUTHENTICATION_FAILED);
  return authenticatedClient(client, method);
}

/** RFC 6749 §3.2.1: a `client_id` in the body of an authenticated request must name the same client. */
function checkBodyClientId(request: ClientAuthRequest, clientId: string): void {
  const named = request.params.get("client_id");
  if (named !== undefined && named !== clientId) {
    throw new OAuthError("invalid_request", "client_id does not match the authenticated client");
  }
}

/**
 * RFC 6749 §2.3.1: the id and the secret are each encoded with
 * application/x-www-form-urlencoded (Appendix B) before they become the
 * Basic user-id and password (RFC 7617 §2), so `+` is a space and `%XX` a byte.
 */
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replaceAll("+", " "));
  } catch {
    throw new OAuthError("invalid_client", "malformed Basic credentials");
  }
}

/** RFC 7617 §2: `Basic` (any case), then token68 base64 of `user-id:password`. */
const BASIC = /^basic +([A-Za-z0-9+/]+=*) *$/i;

function parseBasic(header: string): { clientId: string; secret: string } {
  const match = BASIC.exec(header);
  // RFC 6749 §5.2: an authentication scheme we do not accept is invalid_client.
  if (!match?.[1] || header.length > 4 * MAX_CREDENTIAL_LENGTH) {
    throw new OAuthError("invalid_client", "only HTTP Basic client authentication is accepted");
  }
  let decoded: string;
  try {
    const binary = atob(match[1]);
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(binary, (c) => c.charCodeAt(0)),
    );
  } catch {
    throw new OAuthError("invalid_client", "malformed Basic credentials");
  }
  // RFC 7617 §2: the user-id ends at the first colon (an encoded id has none).
  const colon = decoded.indexOf(":");
  if (colon <= 0) throw new OAuthError("invalid_client", "malformed Basic credentials");
  return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

/** `client_secret_basic` (RFC 6749 §2.3.1, RFC 7591 §2): HTTP Basic on the token request. */
export const clientSecretBasic: ClientAuthenticator = {
  method: "client_secret_basic",
  async authenticate(request, context) {
    const { clientId, secret } = parseBasic(request.headers.get("Authorization") ?? "");
    checkBodyClientId(request, clientId);
    return authenticateWithSecret(clientId, secret, "client_secret_basic", context);
  },
};

/**
 * `client_secret_post` (RFC 6749 §2.3.1): `client_id` and `client_secret`
 * in the form body. §2.3.1 discourages it, so a client uses it only when it
 * registered it.
 */
export const clientSecretPost: ClientAuthenticator = {
  method: "client_secret_post",
  async authenticate(request, context) {
    const clientId = request.params.get("client_id");
    const secret = request.params.get("client_secret");
    if (!clientId || !secret) throw new OAuthError("invalid_client", "client_id and client_secret are both required");
    return authenticateWithSecret(clientId, secret, "client_secret_post", context);
  },
};
