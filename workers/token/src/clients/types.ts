import type { TokenConfig } from "../config.ts";
import type { DelegationGrantsRead } from "../grants/delegation-grants.ts";
import type { Jwks } from "../keys/signing-keys.ts";
import type { RequestSpends } from "../replay/request-spends.ts";
import type { OrgTokenPolicy } from "./org-policy.ts";

/**
 * RFC 8414 §2 / RFC 7591 §2 `token_endpoint_auth_method` values: how a
 * client proves who it is at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2).
 */
export type ClientAuthMethod = "none" | "client_secret_basic" | "client_secret_post" | "private_key_jwt";

/** The methods a stored (confidential) client may register. */
export type ConfidentialAuthMethod = Exclude<ClientAuthMethod, "none">;

/** RFC 6749 §2.1 client types. */
export type ClientType = "public" | "confidential";

/** What a registered client is: it picks the org's TTL guardrail (clients/org-policy.ts). */
export type ClientKind = "machine" | "agent" | "service";

/** `pending`: registered, awaiting approval; only `active` clients authenticate. */
export type ClientStatus = "active" | "disabled" | "pending";

/**
 * A client as stored in `oauth_client` (shared/db/machine-schema.ts), lists
 * split. What grants need of it travels on AuthenticatedClient as a
 * ClientRegistration, without its credentials.
 */
export interface StoredClient {
  clientId: string;
  /** null: a platform operator client (tokens carry PLATFORM_ORG_ID). */
  orgId: string | null;
  name: string;
  kind: ClientKind;
  ownerUserId: string | null;
  authMethod: ConfidentialAuthMethod;
  /** shared/crypto/secret-hash.ts output, for the secret methods. */
  secretHash: string | null;
  /** RFC 7591 `jwks` (JSON text) or `jwks_uri`, for private_key_jwt. */
  jwks: string | null;
  jwksUri: string | null;
  grantTypes: readonly string[];
  scopes: readonly string[];
  /** Resources (RFC 8707) / audiences it may get tokens for. */
  audiences: readonly string[];
  maxTtlSeconds: number | null;
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`. */
  requireDpop: boolean;
  /** May introspect and revoke any of its org's tokens (RFC 7662 §2.1). */
  resourceServer: boolean;
  status: ClientStatus;
  createdAt: Date;
  updatedAt: Date;
  lastUsedAt: Date | null;
  /**
   * A narrowing change whose `client` cut-off is not recorded yet (its id):
   * written with the change, cleared once the cut-off is
   * (admin/client-narrowing.ts). Never shown, never set through the API.
   */
  pendingCutoff: string | null;
  /**
   * Its org's token policy, when it was read in the same query as the
   * client (the token endpoint's lookup, clients/registry.ts); absent
   * elsewhere and for platform operator clients.
   */
  orgPolicy?: OrgTokenPolicy;
}

/** A stored client without its credentials: what grants may look at. */
export type ClientRegistration = Omit<StoredClient, "secretHash" | "jwks" | "jwksUri">;

/** A client as the registry knows it (clients/registry.ts). */
export interface RegisteredClient {
  clientId: string;
  type: ClientType;
  /** The one method this client authenticates with (RFC 7591 §2). */
  authMethod: ClientAuthMethod;
  /** The stored registration; absent only for the built-in first-party client. */
  stored?: StoredClient;
}

/** The client a token request is made by, once authenticated. */
export interface AuthenticatedClient {
  clientId: string;
  type: ClientType;
  /** How it authenticated (`none`: a public client, identified but not authenticated). */
  method: ClientAuthMethod;
  /**
   * Its registration, for the grants' checks (grant types, scopes,
   * audiences, org, TTL). Absent for the built-in first-party client.
   */
  registration?: ClientRegistration;
}

/** What client authentication may look at: the form and the headers (RFC 6749 §2.3.1). */
export interface ClientAuthRequest {
  params: ReadonlyMap<string, string>;
  headers: Headers;
}

export interface ClientAuthContext {
  env: TokenEnv;
  config: TokenConfig;
  /**
   * Where an authentication method spends a single-use credential (an
   * RFC 7523 assertion's `jti`): the endpoint gives it back if the request
   * then issues nothing for a reason that is not the client's
   * (replay/request-spends.ts), so every endpoint that authenticates
   * clients must settle it when it refuses.
   */
  spends: RequestSpends;
  /**
   * Set by a request that will verify our own tokens (endpoints/token.ts):
   * the client's D1 read then also reads our published verification keys, in
   * the same statement (clients/registry.ts), and hands them here.
   */
  onPublishedKeys?: (jwks: Jwks) => void;
  /**
   * Set by a request whose grant will consult delegation grants (a token
   * exchange that acts for someone, endpoints/token.ts): the client's D1 read
   * then also reads the live grants of `subject` to that client in its org,
   * in the same statement (clients/registry.ts), and hands them here.
   */
  delegationGrantsOf?: { subject: string; deliver: (read: DelegationGrantsRead) => void };
}

/** One client authentication method (clients/authenticate.ts dispatches to it). */
export interface ClientAuthenticator {
  method: ClientAuthMethod;
  /** Resolves the client or throws OAuthError `invalid_client` (RFC 6749 §5.2). */
  authenticate(request: ClientAuthRequest, context: ClientAuthContext): Promise<AuthenticatedClient>;
}
