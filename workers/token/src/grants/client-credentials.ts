import { GRANT_TYPE } from "../../../../shared/contracts/tokens.ts";
import { grantAudience, grantScope, mintGuardrails } from "../clients/guardrails.ts";
import { touchLastUsed } from "../clients/last-used.ts";
import { takeMint } from "../clients/mint-limit.ts";
import { requireRegisteredClient } from "./grant-client.ts";
import type { GrantHandler } from "./types.ts";

/**
 * RFC 6749 §4.4 client credentials: a machine, agent or service acting as
 * itself. The token's `sub` is the client_id (never a user's `sub`: RFC
 * 9700 §4.15, shared/crypto/client-id.ts), its `org_id` the client's org
 * (PLATFORM_ORG_ID for operator clients), and its scope, audience and
 * lifetime are what the client, its org and the issuer all allow
 * (clients/guardrails.ts). No refresh token (§4.4.3).
 */
export const clientCredentialsGrant: GrantHandler = {
  grantType: GRANT_TYPE.clientCredentials,
  advertised: true,
  async handle({ params, client }, context) {
    // Authentication already refused every client that is not active (clients/confidential-client.ts).
    const registration = requireRegisteredClient(client, GRANT_TYPE.clientCredentials);
    const guardrails = await mintGuardrails(context.env.DB, context.config, registration);
    const scope = grantScope(params.get("scope"), guardrails.scopes);
    const audience = grantAudience(params, registration, guardrails.audiences);
    // Last, so a request refused for its content does not spend the client's budget.
    await takeMint(context.env, registration.clientId, guardrails.policy.mintsPerMinutePerClient);
    const minted = await context.mint({
      subject: registration.clientId,
      audience,
      clientId: registration.clientId,
      orgId: guardrails.orgId,
      scope,
      ttlSeconds: guardrails.ttlSeconds,
    });
    touchLastUsed(context, registration);
    return { minted, scope };
  },
};
