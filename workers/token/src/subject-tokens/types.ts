import type { RevocableClaims } from "../../../../shared/contracts/revocation.ts";
import type { ActorClaim, DerivedFrom } from "../../../../shared/contracts/tokens.ts";
import type { KeyResolver } from "../../../../shared/jwt/verify-access-token.ts";
import type { GrantContext } from "../grants/types.ts";
import type { RevocationReader } from "../revocation/revocation-reader.ts";

/**
 * A subject or actor token (RFC 8693 §2.1) once verified, whatever its type
 * (§3): what a token exchange reads of it. Each accepted type maps its own
 * claims onto this shape (subject-tokens/registry.ts), so the exchange never
 * looks at a raw claim set.
 */
export interface VerifiedToken {
  /** The RFC 8693 §3 token type it was presented as. */
  type: string;
  subject: string;
  orgId: string;
  /** The client the token was issued to (RFC 9068 `client_id`). */
  clientId: string;
  audiences: readonly string[];
  scopes: readonly string[];
  jti: string;
  /** Seconds since the epoch. */
  issuedAt: number;
  expiresAt: number;
  /** The human session the token stands for, if any. */
  sessionId?: string;
  roles?: readonly string[];
  /** RFC 8693 §4.1: who already acts for `subject` (outermost = current actor). */
  act?: ActorClaim;
  /** RFC 9449 §6.1: the key the token is bound to, if it is sender-constrained. */
  boundKey?: string;
  /** The delegation grants it rests on (`grant_id`, then `grant_chain`): what a token made from it rests on too. */
  grants?: readonly string[];
  /**
   * The client of each browser grant among `grants` (restingGrantClients,
   * shared/revocation/grant-chain-clients.ts): what a token made from it
   * carries as `grant_chain_clients`. Absent when a browser grant's client
   * is unknown (a token signed before that claim), so what is made from it
   * stays under the conservative rule.
   */
  grantClients?: Readonly<Record<string, string>>;
  /** The tokens it was derived from (`derived_from`): a token made from it names them, then it. */
  derivedFrom?: readonly DerivedFrom[];
}

/**
 * A token whose signature and claims verified, before its revocation check:
 * what a verifier returns. Only requireNotRevoked (subject-tokens/not-revoked.ts)
 * turns it into a VerifiedToken, checking every token of a request against
 * its org's object in one call.
 */
export interface SignedToken {
  role: TokenRole;
  /** What a revocation can match (shared/contracts/revocation.ts). */
  revocable: RevocableClaims;
  /** The token as the exchange reads it, once requireNotRevoked passed. */
  unchecked: VerifiedToken;
}

/** Which parameter a token came in (RFC 8693 §2.1), for the error a client reads. */
export type TokenRole = "subject_token" | "actor_token";

/** What verifiers share within one request, so a subject and an actor token cost one read each. */
export interface VerificationContext extends GrantContext {
  /** Our signing keys as D1 has them (keys/database-key-resolver.ts). */
  resolveKey: KeyResolver;
  /** Each org's revocations from its Durable Object (revocation/revocation-reader.ts), for requireNotRevoked. */
  revocations: RevocationReader;
}

/**
 * Verifies one token type, all but revocation (requireNotRevoked checks
 * that for every token of the request at once). Throws OAuthError
 * `invalid_grant` for a token that is malformed, forged, expired or not ours.
 */
export type TokenVerifier = (
  token: string,
  role: TokenRole,
  context: Pick<VerificationContext, "config" | "resolveKey">,
) => Promise<SignedToken>;
