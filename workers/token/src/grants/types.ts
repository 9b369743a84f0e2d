import type { KeyResolver } from "../../../../shared/jwt/verify-access-token.ts";
import type { AuthenticatedClient } from "../clients/types.ts";
import type { TokenConfig } from "../config.ts";
import type { MintedIdJag } from "../id-jag/sign-id-jag.ts";
import type { AccessTokenRequest, MintedAccessToken } from "../mint/mint-access-token.ts";
import type { DelegationGrantsRead } from "./delegation-grants.ts";
import type { ExchangePrefetch } from "./token-exchange-prefetch.ts";

/** The parameters of a token request (RFC 6749 §3.2), each present at most once. */
export type TokenParams = ReadonlyMap<string, string>;

/** A token request once its client is authenticated (clients/authenticate.ts). */
export interface GrantRequest {
  params: TokenParams;
  client: AuthenticatedClient;
  /** The request's headers, for grants that read proofs sent there (RFC 9449 `DPoP`). */
  headers: Headers;
}

export interface GrantContext {
  env: TokenEnv;
  config: TokenConfig;
  /**
   * Mints this request's access token (mint/mint-access-token.ts) with what
   * the endpoint decided once for the whole request already applied: the
   * DPoP binding (RFC 9449 §5, dpop/token-request-binding.ts). Grants mint
   * through this, never through mintAccessToken directly, so no grant can
   * forget the binding.
   */
  mint: (request: AccessTokenRequest) => Promise<MintedAccessToken>;
  /**
   * The DPoP key this request proved possession of (RFC 9449 §4.3), which
   * `mint` binds already. For what a grant checks or issues besides an
   * access token: an ID-JAG is bound to it and redeemed only with it
   * (draft-ietf-oauth-identity-assertion-authz-grant §9.8).
   */
  confirmation?: { jkt: string };
  /**
   * Our verification keys as D1 has them, read at most once per request
   * (keys/database-key-resolver.ts): for a grant that verifies our own
   * tokens (`verifiesOurTokens`), the endpoint starts that read beside client
   * authentication. Absent, the grant reads them when it first needs them.
   */
  ourKeys?: KeyResolver;
  /**
   * The moment the request arrived, before anything that allows a token was
   * read: the `iat` of whatever the grant issues (mint/mint-access-token.ts
   * explains why), which `mint` stamps already.
   */
  authorizedAtMs: number;
  /** Keeps background work (a `last_used_at` update) alive after the answer, never delaying it. */
  waitUntil: (promise: Promise<unknown>) => void;
  /** What the grant's `prefetch` started beside client authentication, if it has one. */
  prefetched?: Promise<ExchangePrefetch | undefined>;
  /**
   * The live delegation grants of the grant's `delegationSubject` to the
   * client, read in the client's own D1 statement (clients/registry.ts). The
   * grant relies on them only for exactly the parties it then checks.
   */
  delegationGrantsRead?: DelegationGrantsRead;
}

/** What a grant hands back to the endpoint, which answers (RFC 6749 §5.1) and audits it. */
export interface IssuedToken {
  /** An access token, or (RFC 8693 §2.2.1 `issued_token_type` id-jag) an ID-JAG, which is none. */
  minted: MintedAccessToken | MintedIdJag;
  scope: string;
  /** RFC 8693 §2.2.1: present on a token-exchange response only. */
  issuedTokenType?: string;
}

/**
 * One grant type of the token endpoint (RFC 6749 §4, RFC 8693, RFC 7523).
 * The endpoint dispatches on `grant_type` through grants/registry.ts, and
 * the metadata's `grant_types_supported` lists the advertised ones.
 */
export interface GrantHandler {
  /** The `grant_type` value (RFC 6749 §4.x, or an absolute URI per §4.5). */
  grantType: string;
  /**
   * Whether a client that can exist today can complete this grant at the
   * public endpoint; RFC 8414 `grant_types_supported` lists only those.
   */
  advertised: boolean;
  /** It verifies tokens we issued (RFC 8693 subject and actor tokens): the endpoint reads our keys early for it. */
  verifiesOurTokens?: boolean;
  /**
   * Starts reads the grant will need while the endpoint authenticates the
   * client (grants/token-exchange-prefetch.ts), handed back as
   * GrantContext.prefetched. It never throws and decides nothing: the grant
   * makes every check itself, after authentication.
   */
  prefetch?(params: TokenParams, context: Pick<GrantContext, "env" | "config">): Promise<ExchangePrefetch | undefined>;
  /**
   * The subject whose delegation grants to the client the grant will
   * consult, as far as the request shows before anything is verified: the
   * endpoint reads those grants in the client's own D1 statement
   * (GrantContext.delegationGrantsRead). Decides nothing.
   */
  delegationSubject?(params: TokenParams): string | undefined;
  /** Issues a token or throws an OAuthError with the RFC's code. */
  handle(request: GrantRequest, context: GrantContext): Promise<IssuedToken>;
}
