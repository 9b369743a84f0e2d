import { TOKEN_TYPE } from "../../../../shared/contracts/tokens.ts";
import { touchLastUsed } from "../clients/last-used.ts";
import { type ExchangeIssuer, settleExchange } from "./token-exchange-issue.ts";
import { defaultTarget } from "./token-exchange-parties.ts";
import { narrowScopes, requestedScopes, requestedTarget, requireTarget } from "./token-exchange-targets.ts";

/**
 * The access token of a token exchange (RFC 8693 §2.2.1, `issued_token_type`
 * access_token): about the subject token's subject, for one audience and a
 * scope that are each the intersection of what was asked, what the subject
 * token holds and what the client may have under its org's policy
 * (clients/guardrails.ts). When the client acts for the subject, a live
 * delegation grant must cover the audience and the scope, and narrows the
 * scope further. The token carries the subject's roles and session (so the
 * session's end cuts it off too), the `act` chain, and never outlives the
 * tokens it came from or the grant behind it.
 */
export const issueExchangedAccessToken: ExchangeIssuer = async (decision, context) => {
  const { exchange, client, guardrails, parties } = decision;
  const { subject } = parties;
  const audience = requireTarget(requestedTarget(exchange.audience, exchange.resource) ?? defaultTarget(subject), [
    guardrails.audiences,
    subject.audiences,
  ]);
  const scopes = narrowScopes(requestedScopes(exchange.scope), [guardrails.scopes, subject.scopes]);
  const { scope, notAfter, grantId, grantChain, grantChainClients, derivedFrom } = await settleExchange(
    decision,
    context,
    [audience],
    scopes,
  );
  const minted = await context.mint({
    subject: subject.subject,
    audience,
    clientId: client.clientId,
    orgId: client.orgId,
    scope,
    ...(subject.roles ? { roles: [...subject.roles] } : {}),
    ...(subject.sessionId ? { sessionId: subject.sessionId } : {}),
    ...(parties.act ? { actor: parties.act } : {}),
    notAfter,
    ttlSeconds: guardrails.ttlSeconds,
    // Revoking the grant, or one the subject token rests on, cuts the token off at every gateway (shared/revocation).
    ...(grantId ? { grantId } : {}),
    ...(grantChain ? { grantChain } : {}),
    ...(grantChainClients ? { grantChainClients } : {}),
    // …and so does revoking the subject or actor token, or one they were derived from (RFC 7009 §2.1).
    derivedFrom,
  });
  touchLastUsed(context, client.registration);
  return { minted, scope, issuedTokenType: TOKEN_TYPE.accessToken };
};
