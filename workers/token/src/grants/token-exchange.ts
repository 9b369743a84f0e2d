import { GRANT_TYPE, TOKEN_TYPE } from "../../../../shared/contracts/tokens.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { mintGuardrails } from "../clients/guardrails.ts";
import { requireParam } from "../http/read-form.ts";
import { actorTokenVerifier, subjectTokenVerifier } from "../subject-tokens/registry.ts";
import { requireNotRevoked } from "../subject-tokens/not-revoked.ts";
import type { TokenRole, TokenVerifier, VerifiedToken } from "../subject-tokens/types.ts";
import { verificationContext } from "../subject-tokens/verification-context.ts";
import { liveDelegationGrants, sameParties } from "./delegation-grants.ts";
import { issueExchangedAccessToken } from "./token-exchange-access.ts";
import { requireOrgClient } from "./grant-client.ts";
import { issueIdJagByExchange } from "./token-exchange-id-jag.ts";
import {
  confirmEarlyToken,
  type EarlyToken,
  exchangeDelegationSubject,
  prefetchExchange,
} from "./token-exchange-prefetch.ts";
import { resolveParties } from "./token-exchange-parties.ts";
import type { GrantHandler, TokenParams } from "./types.ts";

/** A token-exchange request (RFC 8693 §2.1) once its parameters are read. */
export interface ExchangeRequest {
  subjectToken: string;
  subjectVerifier: TokenVerifier;
  actor?: { token: string; verifier: TokenVerifier };
  /** TOKEN_TYPE.accessToken (the default) or TOKEN_TYPE.idJag. */
  requestedTokenType: string;
  audience?: string;
  resource?: string;
  scope?: string;
}

/**
 * The `requested_token_type`s issued here. An ID-JAG is the identity
 * chaining type (the ID-JAG draft §7.1), advertised as such in the metadata.
 */
const REQUESTED_TOKEN_TYPES: ReadonlySet<string> = new Set([TOKEN_TYPE.accessToken, TOKEN_TYPE.idJag]);

/** draft-ietf-oauth-identity-chaining `identity_chaining_requested_token_types_supported`. */
export const IDENTITY_CHAINING_TOKEN_TYPES: readonly string[] = [TOKEN_TYPE.idJag];

/**
 * RFC 8693 token exchange at the token endpoint (ENDPOINT.token), for
 * registered confidential clients of an org. In order:
 *
 * 1. the request (§2.1) — `invalid_request`;
 * 2. the client may use the grant — `unauthorized_client`
 *    (grants/grant-client.ts);
 * 3. the subject token, and the actor token if any, verify and are not
 *    revoked (subject-tokens/);
 * 4. the client may use them: it is the actor, or the subject token was
 *    issued to it; the `act` chain and its depth
 *    (grants/token-exchange-parties.ts);
 * 5. what is issued: an access token (grants/token-exchange-access.ts) or an
 *    ID-JAG (grants/token-exchange-id-jag.ts), for the intersection of what
 *    was asked, what the subject token holds, what the client may have and
 *    what the org allows — `invalid_target`, `invalid_scope` — and, when the
 *    client acts for the subject, a live delegation grant.
 *
 * Steps 3, 4 and the grant check answer `invalid_request`: RFC 8693 §2.2.2
 * says a subject or actor token that is "invalid for any reason, or
 * unacceptable based on policy" MUST get that code. The checks themselves
 * are shared with the jwt-bearer grant, where RFC 7523 §3.1 calls the same
 * failures `invalid_grant`, so they say `invalid_grant` and this grant
 * translates at its boundary (`asExchangeRefusal`).
 */
export const tokenExchangeGrant: GrantHandler = {
  grantType: GRANT_TYPE.tokenExchange,
  advertised: true,
  verifiesOurTokens: true,
  prefetch: prefetchExchange,
  delegationSubject: exchangeDelegationSubject,
  async handle(request, context) {
    try {
      return await exchangeTokens(request, context);
    } catch (error) {
      throw asExchangeRefusal(error);
    }
  },
};

async function exchangeTokens(...[request, context]: Parameters<GrantHandler["handle"]>) {
  const exchange = readExchangeRequest(request.params);
  const client = requireOrgClient(request.client, GRANT_TYPE.tokenExchange);
  const verification = verificationContext(context);
  // Reads started beside client authentication (grants/token-exchange-prefetch.ts), used only where they match.
  const early = await context.prefetched;
  const verify = async (token: string, role: TokenRole, verifier: TokenVerifier, prefetched?: EarlyToken) =>
    (await confirmEarlyToken(prefetched, token, verification.resolveKey)) ?? verifier(token, role, verification);
  // Independent work side by side: the guardrails (the org's policy was read
  // with the client), and both tokens' signatures and claims, which share one
  // read of our keys (started by the endpoint beside client authentication).
  const [guardrails, subject, actor] = await Promise.all([
    mintGuardrails(context.env.DB, context.config, client.registration),
    verify(exchange.subjectToken, "subject_token", exchange.subjectVerifier, early?.subject),
    exchange.actor && verify(exchange.actor.token, "actor_token", exchange.actor.verifier, early?.actor),
  ]);
  // The client acts for the subject (resolveParties' `delegated`): the grants
  // behind that came with the client's own D1 statement when they are this
  // subject's to this client (endpoints/token.ts), or are read now, beside
  // the revocation check; either way they are consulted only once every
  // check before them passed (settleExchange).
  const parties = { orgId: client.orgId, subject: subject.unchecked.subject, actorClientId: client.clientId };
  const withClient = context.delegationGrantsRead;
  const delegationGrants =
    actor !== undefined || subject.unchecked.act !== undefined
      ? withClient && sameParties(withClient.parties, parties)
        ? Promise.resolve(withClient.live)
        : startReading(liveDelegationGrants(context.env.DB, parties, new Date()))
      : undefined;
  // Both tokens against their org's object in one call (subject-tokens/not-revoked.ts),
  // made beside authentication when these are the very tokens that were verified then.
  const presented = actor ? [subject, actor] : [subject];
  const sameTokens = early !== undefined && subject === early.subject.signed && actor === early.actor?.signed;
  const [subjectToken, actorToken] = await requireNotRevoked(
    presented,
    verification.revocations,
    sameTokens ? early.revoked : undefined,
  );
  const resolved = resolveParties(
    client,
    subjectToken as VerifiedToken,
    actorToken,
    guardrails.policy.maxDelegationDepth,
    context.confirmation,
  );
  const issue = exchange.requestedTokenType === TOKEN_TYPE.idJag ? issueIdJagByExchange : issueExchangedAccessToken;
  return issue(
    { exchange, client, guardrails, parties: resolved, ...(delegationGrants ? { delegationGrants } : {}) },
    context,
  );
}

/** A read started before it is awaited: a refusal in between must not leave its failure unhandled. */
function startReading<T>(read: Promise<T>): Promise<T> {
  read.catch(() => undefined);
  return read;
}

/** RFC 8693 §2.2.2: an invalid or unacceptable subject or actor token is `invalid_request`. */
function asExchangeRefusal(error: unknown): unknown {
  if (error instanceof OAuthError && error.code === "invalid_grant") {
    return new OAuthError("invalid_request", error.description);
  }
  return error;
}

/** RFC 8693 §2.1; every problem here is `invalid_request` (RFC 6749 §5.2). */
function readExchangeRequest(params: TokenParams): ExchangeRequest {
  const subjectToken = requireParam(params, "subject_token");
  const subjectType = requireParam(params, "subject_token_type");
  const subjectVerifier = subjectTokenVerifier(subjectType);
  // §2.2.2: a subject token type that is unacceptable based on policy is invalid_request.
  if (!subjectVerifier) {
    throw new OAuthError(
      "invalid_request",
      subjectType === TOKEN_TYPE.session
        ? "a session is not exchanged at the token endpoint"
        : "unsupported subject_token_type",
    );
  }
  const actorToken = params.get("actor_token");
  const actorType = params.get("actor_token_type");
  // §2.1: actor_token_type is REQUIRED with actor_token and MUST NOT be sent without it.
  if ((actorToken === undefined) !== (actorType === undefined)) {
    throw new OAuthError("invalid_request", "actor_token and actor_token_type go together");
  }
  let actor: ExchangeRequest["actor"];
  if (actorToken !== undefined && actorType !== undefined) {
    const verifier = actorTokenVerifier(actorType);
    if (!verifier || actorToken === "") throw new OAuthError("invalid_request", "unsupported actor_token_type");
    actor = { token: actorToken, verifier };
  }
  const requestedTokenType = params.get("requested_token_type") || TOKEN_TYPE.accessToken;
  if (!REQUESTED_TOKEN_TYPES.has(requestedTokenType)) {
    throw new OAuthError("invalid_request", "unsupported requested_token_type");
  }
  return {
    subjectToken,
    subjectVerifier,
    ...(actor ? { actor } : {}),
    requestedTokenType,
    ...optional("audience", params.get("audience")),
    ...optional("resource", params.get("resource")),
    ...optional("scope", params.get("scope")),
  };
}

function optional<K extends string>(name: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined || value === "" ? {} : ({ [name]: value } as Record<K, string>);
}
