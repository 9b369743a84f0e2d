import { TOKEN_TYPE } from "../../../../shared/contracts/tokens.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { touchLastUsed } from "../clients/last-used.ts";
import { signIdJag } from "../id-jag/sign-id-jag.ts";
import { keyStore } from "../keys/signing-keys.ts";
import { type ExchangeIssuer, settleExchange } from "./token-exchange-issue.ts";
import { defaultTarget } from "./token-exchange-parties.ts";
import { type Limit, narrowScopes, requestedScopes, requireTarget } from "./token-exchange-targets.ts";

/** RFC 6749 §3.3 scope-token: printable ASCII but space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** Longest `scope` value read. */
const MAX_SCOPE_LENGTH = 1024;

/**
 * An ID-JAG by token exchange (draft-ietf-oauth-identity-assertion-authz-
 * grant §4.3: `requested_token_type` id-jag), Mono-Auth acting as the IdP:
 *
 * - `audience` (REQUIRED) is the resource authorization server's issuer.
 *   Our own issuer: the `resource` is one of our audiences, under the same
 *   limits an exchanged access token meets (what the subject token holds,
 *   what the client may have, the org's policy), because redeeming the
 *   grant here mints exactly such a token. Another issuer: it, and the
 *   `resource` if named, must be among the client's registered audiences
 *   that the org's policy allows; the scope is the other server's, so only
 *   the client's registered scopes and the org's ceiling limit it.
 * - `client_id` is the authenticated client: no mapping of client ids to
 *   other servers is kept (§5), so a client uses the same id there.
 * - When the client acts for the subject, a live delegation grant covers
 *   every target; the `act` chain goes into the grant (§3.1 `act`).
 * - `tenant` names the subject's org (§6.1), `sid` its session when the
 *   subject token had one; `cnf.jkt` the DPoP key the request proved, if
 *   any (§9.8.1.1).
 *
 * The answer (§4.3.4): `issued_token_type` id-jag, `token_type` N_A, no
 * refresh token.
 */
export const issueIdJagByExchange: ExchangeIssuer = async (decision, context) => {
  const { exchange, client, guardrails, parties } = decision;
  const { subject } = parties;
  if (exchange.audience === undefined) {
    throw new OAuthError("invalid_request", "missing parameter audience (the resource authorization server)");
  }
  const ours = exchange.audience === context.config.issuer;
  let targets: string[];
  let scopes: string[];
  if (ours) {
    const resource = requireTarget(exchange.resource ?? defaultTarget(subject), [
      guardrails.audiences,
      subject.audiences,
    ]);
    targets = [resource];
    scopes = narrowScopes(requestedScopes(exchange.scope), [guardrails.scopes, subject.scopes]);
  } else {
    const registered: Limit[] = [client.registration.audiences, guardrails.policy.allowedAudiences];
    targets = [exchange.audience, ...(exchange.resource !== undefined ? [exchange.resource] : [])].map((target) =>
      requireTarget(target, registered),
    );
    scopes = narrowForeignScopes(exchange.scope, client.registration.scopes, guardrails.policy.scopeCeiling);
  }
  const { scope, notAfter, grantId, grantChain, grantChainClients, derivedFrom } = await settleExchange(
    decision,
    context,
    targets,
    scopes,
  );
  const grants = [...(grantId ? [grantId] : []), ...(grantChain ?? [])];
  const minted = await signIdJag(
    keyStore(context.env, context.config),
    context.config.issuer,
    {
      subject: subject.subject,
      audience: exchange.audience,
      clientId: client.clientId,
      orgId: client.orgId,
      ...(ours ? { resource: targets[0] } : exchange.resource !== undefined ? { resource: exchange.resource } : {}),
      scope,
      ...(subject.sessionId ? { sessionId: subject.sessionId } : {}),
      ...(parties.act ? { act: parties.act } : {}),
      ...(context.confirmation ? { confirmation: context.confirmation } : {}),
      ...(grants.length ? { grants } : {}),
      // The exchange's own grant is a delegation grant: the chain's browser grants are all of them.
      ...(grantChainClients ? { grantClients: grantChainClients } : {}),
      // Revoking the subject or actor token, or one they were derived from, refuses the grant and what it is redeemed for.
      derivedFrom,
      notAfter,
    },
    context.authorizedAtMs,
  );
  touchLastUsed(context, client.registration);
  return { minted, scope, issuedTokenType: TOKEN_TYPE.idJag };
};

/**
 * Scopes at another server are not ours to know (so not checked against
 * ALL_SCOPES), but they are still RFC 6749 §3.3 scope-tokens, and only
 * those the client registered and the org's ceiling allows; none asked:
 * all of those. A value of spaces alone is a list of no scope-tokens (§3.3:
 * "a list of space-delimited … strings"), so none asked, as on every other
 * path (requestedScopes, normaliseScope, grantScope): the draft's §4.3 adds
 * nothing to RFC 8693 §2.1's `scope`, which is RFC 6749 §3.3's.
 */
function narrowForeignScopes(raw: string | undefined, registered: readonly string[], ceiling: Limit): string[] {
  if (raw === undefined || raw.trim() === "") return narrowScopes([...registered], [ceiling]);
  const asked = [...new Set(raw.split(" ").filter(Boolean))];
  if (raw.length > MAX_SCOPE_LENGTH || !asked.every((scope) => SCOPE_TOKEN.test(scope))) {
    throw new OAuthError("invalid_scope", "malformed scope");
  }
  return narrowScopes(asked, [registered, ceiling]);
}
