import { TOKEN_TYPE } from "../../../../shared/contracts/tokens.ts";
import { touchLastUsed } from "../clients/last-used.ts";
import { takeMint } from "../clients/mint-limit.ts";
import { requireDelegation } from "./delegation-grants.ts";
import type { ExchangeIssuer } from "./token-exchange-issue.ts";
import { defaultTarget, requireLifetime } from "./token-exchange-parties.ts";
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
export const issueExchangedAccessToken: ExchangeIssuer = async ({ exchange, client, guardrails, parties }, context) => {
  const { subject } = parties;
  const audience = requireTarget(requestedTarget(exchange.audience, exchange.resource) ?? defaultTarget(subject), [
    guardrails.audiences,
    subject.audiences,
  ]);
  let scopes = narrowScopes(requestedScopes(exchange.scope), [guardrails.scopes, subject.scopes]);
  let notAfter = parties.notAfter;
  if (parties.delegated) {
    const delegation = await requireDelegation(context.env.DB, {
      orgId: client.orgId,
      subject: subject.subject,
      actorClientId: client.clientId,
      targets: [audience],
      scopes,
    });
    scopes = [...delegation.scopes];
    notAfter = Math.min(notAfter, delegation.notAfter ?? Number.POSITIVE_INFINITY);
  }
  const scope = scopes.join(" ");
  notAfter = requireLifetime(notAfter);
  // Last, so a request refused for its content does not spend the client's budget.
  await takeMint(context.env, client.clientId, guardrails.policy.mintsPerMinutePerClient);
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
  });
  const touched = touchLastUsed(context.env.DB, client.registration);
  if (touched) context.waitUntil(touched);
  return { minted, scope, issuedTokenType: TOKEN_TYPE.accessToken };
};
