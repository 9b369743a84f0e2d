import {
  type DerivedFrom,
  MAX_DERIVED_FROM_LENGTH,
  MAX_GRANT_CHAIN_LENGTH,
  TOKEN_TYPE,
} from "../../../../shared/contracts/tokens.ts";
import { derivedFromOf } from "../../../../shared/revocation/derived-from.ts";
import { grantChainClientsFor } from "../../../../shared/revocation/grant-chain-clients.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import type { MintGuardrails } from "../clients/guardrails.ts";
import { takeMint } from "../clients/mint-limit.ts";
import { chooseDelegation, type DelegationGrant, requireDelegation } from "./delegation-grants.ts";
import type { ExchangeRequest } from "./token-exchange.ts";
import type { OrgClient } from "./grant-client.ts";
import { type ExchangeParties, requireLifetime } from "./token-exchange-parties.ts";
import type { VerifiedToken } from "../subject-tokens/types.ts";
import type { GrantContext, IssuedToken } from "./types.ts";

/** Everything a token exchange has established before it decides what to issue. */
export interface ExchangeDecision {
  exchange: ExchangeRequest;
  client: OrgClient;
  guardrails: MintGuardrails;
  parties: ExchangeParties;
  /**
   * The live delegation grants of the subject to the client, when the
   * exchange started reading them early (beside its revocation check,
   * grants/token-exchange.ts); absent, settleExchange reads them itself.
   */
  delegationGrants?: Promise<readonly DelegationGrant[]>;
}

/** Issues one `requested_token_type` (grants/token-exchange-access.ts, grants/token-exchange-id-jag.ts). */
export type ExchangeIssuer = (decision: ExchangeDecision, context: GrantContext) => Promise<IssuedToken>;

/** What an exchange issues under, once its targets and scopes are settled. */
export interface ExchangeTerms {
  /** RFC 6749 §3.3: the scope issued, as the token carries it. */
  scope: string;
  /** Seconds since the epoch: the latest the issued token may live to. */
  notAfter: number;
  /** The delegation grant the token rests on, when the client acts for the subject. */
  grantId?: string;
  /** The other grants it rests on: those of the subject token (grantChain). */
  grantChain?: readonly string[];
  /** The client of each browser grant of grantChain (`grant_chain_clients`); absent when it names none or one of unknown client. */
  grantChainClients?: Readonly<Record<string, string>>;
  /** The tokens the issued one is derived from (`derived_from`): the actor token's and it, then the subject token's and it. */
  derivedFrom: DerivedFrom[];
}

/**
 * The last checks every exchange makes, whatever it issues: when the client
 * acts for the subject, a live delegation grant must cover every target and
 * the scopes (grants/delegation-grants.ts), narrowing the scope to what it
 * grants and the lifetime to its end; nothing is issued that would outlive
 * the tokens presented (requireLifetime), nor escape the revocation of a
 * grant the subject token rests on (grantChain), nor of the subject or
 * actor token or one they were derived from (derivedFrom); and, last, one mint is taken from
 * the client's budget (clients/mint-limit.ts), so a request refused for its
 * content does not spend it.
 */
export async function settleExchange(
  { client, guardrails, parties, delegationGrants }: ExchangeDecision,
  context: GrantContext,
  targets: string[],
  scopes: string[],
): Promise<ExchangeTerms> {
  let notAfter = parties.notAfter;
  let grantId: string | undefined;
  if (parties.delegated) {
    const query = {
      orgId: client.orgId,
      subject: parties.subject.subject,
      actorClientId: client.clientId,
      targets,
      scopes,
    };
    const delegation = delegationGrants
      ? chooseDelegation(await delegationGrants, query)
      : await requireDelegation(context.env.DB, query);
    scopes = [...delegation.scopes];
    notAfter = Math.min(notAfter, delegation.notAfter ?? Number.POSITIVE_INFINITY);
    grantId = delegation.grantId;
  }
  const scope = scopes.join(" ");
  notAfter = requireLifetime(notAfter);
  const chain = grantChain(parties.subject.grants, grantId);
  // Whose browser grants the chain names, so a cut-off of the person at one client ends exactly what rests on it there.
  const grantChainClients = grantChainClientsFor(chain, parties.subject.grantClients);
  const derivedFrom = exchangedFrom(parties);
  await takeMint(context.env, client.clientId, guardrails.policy.mintsPerMinutePerClient);
  return {
    scope,
    notAfter,
    ...(grantId ? { grantId } : {}),
    ...(chain.length ? { grantChain: chain } : {}),
    ...(grantChainClients ? { grantChainClients } : {}),
    derivedFrom,
  };
}

/**
 * RFC 7009 §2.1 (revoking "other tokens based on the same authorization
 * grant"): what is made from the subject token names it and every token it
 * was derived from, so revoking any of them by `jti` cuts this one off at
 * every gateway and at introspection, with nothing written per token
 * (shared/revocation/derived-from.ts). So does an actor token of ours (the
 * agent's own access token, RFC 8693 §2.1): the token issued was obtained
 * with it, so an operator revoking an agent's stolen token ends what it
 * obtained too, not only the token itself. Bounded, so the token and the
 * gateway's check stay small: past that the tokens presented are
 * unacceptable by policy, RFC 8693 §2.2.2 `invalid_request` ("either the
 * subject_token or actor_token").
 */
function exchangedFrom({ subject, actor }: ExchangeParties): DerivedFrom[] {
  const own = actor?.type === TOKEN_TYPE.accessToken ? [lineage(actor), lineage(subject)] : [lineage(subject)];
  const chain = derivedFromOf(own);
  if (chain !== null) return chain;
  // Name the token to present nearer its origin: the subject token alone is too deep, or only the two together.
  const subjectAlone = own.length > 1 && derivedFromOf([lineage(subject)]) !== null;
  throw new OAuthError(
    "invalid_request",
    subjectAlone
      ? `the subject_token and actor_token were derived through more than ${MAX_DERIVED_FROM_LENGTH} tokens together; present tokens nearer their origin`
      : `the subject_token was derived through ${MAX_DERIVED_FROM_LENGTH} tokens already; exchange one nearer its origin`,
  );
}

/** A presented token as a `derived_from` is made of: its jti, client and iat, and its own ancestry. */
function lineage(token: VerifiedToken) {
  return {
    jti: token.jti,
    client_id: token.clientId,
    iat: token.issuedAt,
    ...(token.derivedFrom ? { derived_from: [...token.derivedFrom] } : {}),
  };
}

/**
 * The grants a token made from `subject` rests on besides its own: every
 * grant the subject token rests on. Agent B exchanging agent A's delegated
 * token acts under B's grant, but what it holds came through A's: revoking
 * A's grant must cut off B's token as it cuts off A's (shared/revocation).
 */
export function grantChain(subjectGrants: readonly string[] | undefined, grantId: string | undefined): string[] {
  const chain = [...new Set(subjectGrants ?? [])].filter((grant) => grant !== grantId);
  if (chain.length > MAX_GRANT_CHAIN_LENGTH) {
    throw new OAuthError("invalid_grant", `the token rests on more delegation grants than ${MAX_GRANT_CHAIN_LENGTH}`);
  }
  return chain;
}
