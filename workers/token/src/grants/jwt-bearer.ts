import { trustedIssuerGrantId } from "../../../../shared/contracts/revocation.ts";
import {
  GRANT_TYPE,
  ID_JAG_DERIVED_FROM_CLAIM,
  ID_JAG_GRANT_CLIENTS_CLAIM,
  ID_JAG_GRANT_PROFILE,
  ID_JAG_GRANTS_CLAIM,
  ID_JAG_NOT_AFTER_CLAIM,
} from "../../../../shared/contracts/tokens.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { grantChainClientsFor } from "../../../../shared/revocation/grant-chain-clients.ts";
import { mintGuardrails } from "../clients/guardrails.ts";
import { touchLastUsed } from "../clients/last-used.ts";
import { takeMint } from "../clients/mint-limit.ts";
import { requireParam } from "../http/read-form.ts";
import { spendIdJag, type VerifiedIdJag, verifyIdJag } from "../id-jag/verify-id-jag.ts";
import { RevocationReader } from "../revocation/revocation-reader.ts";
import { requireDelegation } from "./delegation-grants.ts";
import { actorDepth } from "./token-exchange-act.ts";
import { grantChain } from "./token-exchange-issue.ts";
import { requireOrgClient } from "./grant-client.ts";
import { requireLifetime } from "./token-exchange-parties.ts";
import { narrowScopes, requestedScopes, requestedTarget, requireTarget } from "./token-exchange-targets.ts";
import type { GrantHandler } from "./types.ts";

/**
 * draft-ietf-oauth-identity-assertion-authz-grant §7.2
 * `authorization_grant_profiles_supported`: the profiles this grant serves.
 */
export const AUTHORIZATION_GRANT_PROFILES: readonly string[] = [ID_JAG_GRANT_PROFILE];

/**
 * RFC 7523 §2.1 JWT-bearer authorization grant, for one profile: the ID-JAG
 * (the draft's §4.4), Mono-Auth acting as the resource authorization
 * server. The assertion is an ID-JAG from our own issuer or from an
 * external IdP the client's org trusts; it is checked in full
 * (id-jag/verify-id-jag.ts), then:
 *
 * - the subject is not revoked in the org (subject, session, client, org),
 *   nor, for a grant of ours, the grants and tokens it was made from; for
 *   an external IdP's, the org's trust in it (restingGrants); read from the
 *   org's Durable Object;
 * - the target is the request's `resource`/`audience` or the grant's one
 *   `resource`, within the grant's resources and what the client may have
 *   under its org's policy — `invalid_target`;
 * - the scope is the intersection of the grant's `scope` (none: nothing was
 *   delegated), what was asked and what the client may have — RFC 6749
 *   §3.3, `invalid_scope` when nothing is left;
 * - a grant of ours that carries `act` still rests on a live delegation
 *   grant, and its chain on the org's depth limit;
 * - a grant of ours never buys a token that outlives the tokens it was made
 *   from, nor its delegation grant (redeemedNotAfter);
 * - only then is the `jti` spent (once, globally), and an access token
 *   minted: `sub` the grant's subject, `client_id` the client, in the
 *   client's org. No refresh token (§4.4.3).
 *
 * Every problem with the assertion is `invalid_grant` (RFC 7521 §4.1.1,
 * the draft §4.4.1).
 *
 * The draft (§9.3) has an IdP never redeem an ID-JAG it issued itself, for
 * fear of widening what was authorized. This issuer does, on purpose: it is
 * one deployment's IdP and resource authorization server at once, and a
 * grant of its own is held here to exactly the limits its issue met
 * (grants/token-exchange-id-jag.ts), re-checked now against the current
 * policy, delegation grants and revocations — it can never buy more than a
 * direct token exchange would have.
 */
export const jwtBearerGrant: GrantHandler = {
  grantType: GRANT_TYPE.jwtBearer,
  advertised: true,
  async handle(request, context) {
    const assertion = requireParam(request.params, "assertion");
    const client = requireOrgClient(request.client, GRANT_TYPE.jwtBearer);
    const guardrails = await mintGuardrails(context.env.DB, context.config, client.registration);
    const verified = await verifyIdJag(assertion, client, context);
    const { claims } = verified;

    // Our own grant names the delegation grants it rests on: a revoked one refuses the redemption too.
    const restsOn = restingGrants(verified);
    // …and says whose browser grants those are; a grant of ours signed before it said so leaves them unknown,
    // and what it is redeemed for falls under the conservative rule (shared/revocation/is-token-revoked.ts).
    const grantClients = verified.own ? claims[ID_JAG_GRANT_CLIENTS_CLAIM] : undefined;
    const restsOnClients = grantChainClientsFor(restsOn, grantClients);
    // …and the tokens it was derived from (RFC 7009 §2.1): one revoked by `jti` refuses it too.
    const derivedFrom = verified.own ? claims[ID_JAG_DERIVED_FROM_CLAIM] : undefined;
    const revoked = await new RevocationReader(context.env.ORG_STATE).isRevoked({
      ...claims,
      org_id: client.orgId,
      ...(restsOn.length ? { grant_chain: restsOn } : {}),
      ...(restsOnClients ? { grant_chain_clients: restsOnClients } : {}),
      ...(derivedFrom?.length ? { derived_from: derivedFrom } : {}),
    });
    if (revoked) throw new OAuthError("invalid_grant", "assertion: its subject or session is revoked");

    const resources = claims.resource === undefined ? [] : [claims.resource].flat();
    const named = requestedTarget(
      request.params.get("audience") || undefined,
      request.params.get("resource") || undefined,
    );
    const target = named ?? onlyResource(resources);
    const audience = requireTarget(target, [guardrails.audiences, resources.length > 0 ? resources : null]);
    let scopes = narrowScopes(requestedScopes(request.params.get("scope")), [
      guardrails.scopes,
      (claims.scope ?? "").split(" ").filter(Boolean),
    ]);

    let notAfter = redeemedNotAfter(verified);
    let grantId: string | undefined;
    if (claims.act) {
      if (actorDepth(claims.act) > guardrails.policy.maxDelegationDepth) {
        throw new OAuthError("invalid_grant", "assertion: delegation chain longer than the org allows");
      }
      const delegation = await requireDelegation(context.env.DB, {
        orgId: client.orgId,
        subject: claims.sub,
        actorClientId: client.clientId,
        targets: [audience],
        scopes,
      });
      scopes = [...delegation.scopes];
      if (delegation.notAfter !== undefined) notAfter = Math.min(notAfter ?? delegation.notAfter, delegation.notAfter);
      grantId = delegation.grantId;
    }
    // The grant verified within the clock tolerance of its `exp`, which may
    // be its limit: nothing is minted that would be born expired.
    if (notAfter !== undefined) notAfter = requireLifetime(notAfter);

    // The client's budget before the grant's single use: a client over its
    // limit keeps its ID-JAG for a retry.
    await takeMint(context.env, client.clientId, guardrails.policy.mintsPerMinutePerClient);
    const chain = grantChain(restsOn, grantId);
    const chainClients = grantChainClientsFor(chain, grantClients);
    await spendIdJag(verified, context);
    const scope = scopes.join(" ");
    const minted = await context.mint({
      subject: claims.sub,
      audience,
      clientId: client.clientId,
      orgId: client.orgId,
      scope,
      ...(claims.sid ? { sessionId: claims.sid } : {}),
      ...(claims.act ? { actor: claims.act } : {}),
      ...(notAfter !== undefined ? { notAfter } : {}),
      ttlSeconds: guardrails.ttlSeconds,
      ...(grantId ? { grantId } : {}),
      // What a direct exchange would rest on (grants/token-exchange-issue.ts grantChain).
      ...(chain.length ? { grantChain: chain } : {}),
      ...(chainClients ? { grantChainClients: chainClients } : {}),
      // …and what it was derived from, so revoking one of those tokens cuts this one off too.
      ...(derivedFrom?.length ? { derivedFrom } : {}),
    });
    touchLastUsed(context, client.registration);
    return { minted, scope };
  },
};

/**
 * The latest a token redeemed from this grant may live to (its delegation
 * grant's end aside):
 *
 * - Ours: the limit it carries (ID_JAG_NOT_AFTER_CLAIM), which is what a
 *   direct exchange of the tokens it was made from was held to — so a
 *   round trip through an ID-JAG can never outlive a subject token about
 *   to expire, nor be repeated to keep one alive. Not the grant's own
 *   `exp`: that is at most five minutes, and would cut every redeemed
 *   token to that. A grant of ours without the claim was signed before
 *   it existed; its `exp`, capped by the same limit at issue, is the safe
 *   reading.
 * - An external IdP's: none. RFC 7523 §3 (item 4) makes an assertion's
 *   `exp` the end of the time it may be presented, not of what it is
 *   exchanged for, and the ID-JAG draft leaves the access token to the
 *   resource authorization server's policy: the client's TTL applies, as
 *   for any grant, and the IdP's sessions reach us only as revocations.
 */
function redeemedNotAfter(verified: VerifiedIdJag): number | undefined {
  if (!verified.own) return undefined;
  return verified.claims[ID_JAG_NOT_AFTER_CLAIM] ?? verified.claims.exp;
}

/**
 * The grants a token redeemed from this ID-JAG rests on (its `grant_chain`):
 * ours names them (ID_JAG_GRANTS_CLAIM); an external IdP's rests on the
 * org's trust in its issuer, so that removing the issuer (a `grant`
 * revocation of trustedIssuerGrantId, admin/trusted-issuers.ts) ends what
 * its grants bought, and what was exchanged from that, whenever minted —
 * as an Okta or Keycloak admin expects of removing an identity provider.
 */
function restingGrants(verified: VerifiedIdJag): string[] {
  if (verified.own) return verified.claims[ID_JAG_GRANTS_CLAIM] ?? [];
  // verifyIdJag names the trust of every external grant it verified; without it nothing could end this token.
  if (verified.trustedIssuerId === undefined) throw new Error("external ID-JAG verified without its trust");
  return [trustedIssuerGrantId(verified.trustedIssuerId)];
}

/** RFC 8707 §2: with no resource named, the grant's own, if it names exactly one. */
function onlyResource(resources: readonly string[]): string {
  if (resources.length !== 1) throw new OAuthError("invalid_target", "name the resource");
  return resources[0] as string;
}
