import type { TokenConfig } from "../config.ts";

/**
 * RFC 8414 §2 / RFC 7591 §2 `token_endpoint_auth_method` values: how a
 * client proves who it is at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2).
 */
export type ClientAuthMethod = "none" | "client_secret_basic" | "client_secret_post" | "private_key_jwt";

/** RFC 6749 §2.1 client types. */
export type ClientType = "public" | "confidential";

/** A client as the registry knows it (clients/registry.ts). */
export interface RegisteredClient {
  clientId: string;
  type: ClientType;
  /** The one method this client authenticates with (RFC 7591 §2). */
  authMethod: ClientAuthMethod;
}

/** The client a token request is made by, once authenticated. */
export interface AuthenticatedClient {
  clientId: string;
  type: ClientType;
  /** How it authenticated (`none`: a public client, identified but not authenticated). */
  method: ClientAuthMethod;
}

/** What client authentication may look at: the form and the headers (RFC 6749 §2.3.1). */
export interface ClientAuthRequest {
  params: ReadonlyMap<string, string>;
  headers: Headers;
}

export interface ClientAuthContext {
  env: TokenEnv;
  config: TokenConfig;
}

/** One client authentication method (clients/authenticate.ts dispatches to it). */
export interface ClientAuthenticator {
  method: ClientAuthMethod;
  /** Resolves the client or throws OAuthError `invalid_client` (RFC 6749 §5.2). */
  authenticate(request: ClientAuthRequest, context: ClientAuthContext): Promise<AuthenticatedClient>;
}
