import type { ActorClaim } from "../../../../shared/contracts/tokens.ts";
import { DpopProofError } from "../../../../shared/dpop/errors.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import type { TokenRole, VerifiedToken } from "../subject-tokens/types.ts";
import { actorDepth, nestActor } from "./token-exchange-act.ts";
import type { OrgClient } from "./grant-client.ts";

/** Who the token to issue is about, and who acts for them. */
export interface ExchangeParties {
  subject: VerifiedToken;
  /** The actor token (RFC 8693 §2.1), when the client presented one: an ancestor of the token issued too. */
  actor?: VerifiedToken;
  /** The `act` of the token to issue (RFC 8693 §4.1). */
  act?: ActorClaim;
  /**
   * Set when the client is the current actor for the subject: the exchange
   * must then rest on a live delegation grant (grants/delegation-grants.ts).
   */
  delegated: boolean;
  /** Seconds since the epoch: the issued token never outlives the tokens it came from. */
  notAfter: number;
}

/**
 * Decides whether the authenticated client may use these tokens, and builds
 * the `act` chain. The rule:
 *
 * - With an `actor_token`, the authenticated client must be the actor: the
 *   actor token was issued to this client and names the client acting as
 *   itself (`sub` = `client_id`, no `act` of its own). RFC 8693 §2.1 makes
 *   the actor token "the identity of the acting party", and §5 makes client
 *   authentication the place for "additional authorization checks by the
 *   STS as to which entities are permitted to [...] receive delegations":
 *   so the identity is the authenticated one, never a token some other
 *   client passed on, and a live delegation grant (our `may_act`, §4.4)
 *   decides the rest. The new token names the client outermost in `act`,
 *   nesting the subject token's chain (§4.1).
 * - Without one, the client may only narrow a token issued to itself
 *   (`client_id` continuity, as the ID-JAG draft §4.3.3 asks of an identity
 *   assertion's audience): a token it was merely handed is not its to
 *   exchange — delegation "is impossible with only a subject_token"
 *   (RFC 8693 Appendix A.1.1). A chain it already carries stays as it is.
 *
 * Every token must belong to the client's org. A chain deeper than the
 * org's `max_delegation_depth` is refused. These refusals are
 * `invalid_grant` (RFC 6749 §5.2: "issued to another client", or not
 * acceptable here); a sender-constrained token presented without proof of
 * its key is `invalid_dpop_proof` (requireProvenKey).
 */
export function resolveParties(
  client: OrgClient,
  subject: VerifiedToken,
  actor: VerifiedToken | undefined,
  maxDelegationDepth: number,
  /** The DPoP key this request proved (RFC 9449 §4.3), which the token issued is bound to. */
  confirmation: { jkt: string } | undefined,
): ExchangeParties {
  if (subject.orgId !== client.orgId) throw new OAuthError("invalid_grant", "subject_token belongs to another org");
  let act: ActorClaim | undefined;
  let delegated: boolean;
  if (actor) {
    if (actor.orgId !== client.orgId) throw new OAuthError("invalid_grant", "actor_token belongs to another org");
    if (actor.clientId !== client.clientId) {
      throw new OAuthError("invalid_grant", "actor_token was issued to another client");
    }
    if (actor.subject !== actor.clientId || actor.act) {
      throw new OAuthError("invalid_grant", "actor_token must be the client's own token, acting for no one");
    }
    // RFC 9449 §6.1: a sender-constrained subject token is bound to its
    // holder's key; no other client can show that it holds it.
    if (subject.boundKey !== undefined && subject.clientId !== client.clientId) {
      throw new OAuthError("invalid_grant", "subject_token is bound to another client's key");
    }
    requireProvenKey(actor, "actor_token", confirmation);
    act = nestActor({ sub: actor.subject, client_id: actor.clientId }, subject.act);
    delegated = true;
  } else {
    if (subject.clientId !== client.clientId) {
      throw new OAuthError(
        "invalid_grant",
        "subject_token was issued to another client; an actor presents an actor_token",
      );
    }
    act = subject.act;
    // The client is already the current actor of this chain: it narrows its
    // own delegated token, which still needs the grant behind it.
    delegated = act !== undefined;
    if (act && act.client_id !== client.clientId) {
      throw new OAuthError("invalid_grant", "subject_token names another current actor");
    }
  }
  requireProvenKey(subject, "subject_token", confirmation);
  if (actorDepth(act) > maxDelegationDepth) {
    throw new OAuthError("invalid_grant", `delegation chain longer than the org allows (${maxDelegationDepth})`);
  }
  return {
    subject,
    ...(actor ? { actor } : {}),
    ...(act ? { act } : {}),
    delegated,
    notAfter: Math.min(subject.expiresAt, actor?.expiresAt ?? Number.POSITIVE_INFINITY),
  };
}

/**
 * RFC 9449 §6, §7: a DPoP-bound token is usable only with a proof of its
 * key, and a token exchange is a use of it. Were the subject token accepted
 * without one, the exchange would launder it into a bearer token (or one
 * bound to any key the caller holds), and the binding would protect
 * nothing. So every bound token a request presents, subject or actor, must
 * be bound to the one key the request's proof shows; the token issued is
 * then bound to that same key (GrantContext.mint, the ID-JAG's `cnf`), and
 * the binding carries through. With an actor token the actor proves its own
 * key; a bound subject token can only be the client's own there (a token
 * bound to another client's key is refused above), so the client proves it
 * with the same proof: a client that presents two bound tokens holds them
 * under one key. A bearer token imposes nothing: binding it is an upgrade.
 *
 * The answer is `invalid_dpop_proof`, not RFC 8693 §2.2.2's
 * `invalid_request`: the token itself is acceptable, in its holder's hands;
 * what fails is the proof. RFC 9449 §4.3 step 12 makes a proof whose key is
 * not the presented token's a failed proof check, a missing proof where one
 * is needed is ERR_DPOP_MISSING as everywhere else, and §5 answers both
 * `invalid_dpop_proof` at the token endpoint (the resource server's
 * `invalid_token` is RFC 6750's, not an RFC 6749 §5.2 code) — with the
 * nonce for the retry (dpop/token-request-binding.ts).
 */
function requireProvenKey(token: VerifiedToken, role: TokenRole, confirmation: { jkt: string } | undefined): void {
  if (token.boundKey === undefined || token.boundKey === confirmation?.jkt) return;
  const error = new DpopProofError(confirmation ? "ERR_DPOP_KEY_BINDING" : "ERR_DPOP_MISSING");
  throw new OAuthError("invalid_dpop_proof", `${error.publicDescription} (the ${role} is DPoP-bound)`);
}

/**
 * The latest a token issued now may live to. A subject token that expires
 * within the clock tolerance verified, but nothing is issued from it that
 * would be born expired: RFC 6749 §5.2 `invalid_grant` (expired).
 */
export function requireLifetime(notAfter: number): number {
  if (notAfter <= Math.floor(Date.now() / 1000))
    throw new OAuthError("invalid_grant", "the tokens presented have expired");
  return notAfter;
}

/**
 * The target when the client named none: the subject token's own audience
 * (RFC 8693 §2.1 lets the server pick; exchanging for the same audience is
 * narrowing scope). A subject token with several leaves the client to name one.
 */
export function defaultTarget(subject: VerifiedToken): string {
  if (subject.audiences.length !== 1)
    throw new OAuthError("invalid_target", "name the target with audience or resource");
  return subject.audiences[0] as string;
}
