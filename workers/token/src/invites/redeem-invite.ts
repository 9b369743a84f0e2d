import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { GRANT_TYPE } from "../../../../shared/contracts/tokens.ts";
import { generateClientId } from "../../../../shared/crypto/client-id.ts";
import { splitList } from "../clients/stored-client.ts";
import type { TokenConfig } from "../config.ts";
import { databaseKeyResolver } from "../keys/database-key-resolver.ts";
import type { BootstrapAttempt } from "./invite-audit.ts";
import { hostBootstrapAudience, verifyInvite } from "./invite-token.ts";
import { verifyPossessionProof } from "./possession-proof.ts";
import { redeemInvite, redemptionRefusal } from "./store.ts";

export interface HostBootstrapRequest {
  invite: string;
  proof: string;
}

export interface RedeemedInvite {
  clientId: string;
  orgId: string;
  jti: string;
  /** The key's RFC 7638 thumbprint: the `kid` the host's client assertions name. */
  kid: string;
  scope: string;
  audiences: string[];
  grantTypes: string[];
  tokenEndpoint: string;
  /** RFC 9449 §5.2: the client's token requests must carry a DPoP proof. */
  dpopBoundAccessTokens: boolean;
}

/**
 * A host's bootstrap, in the order that costs an attacker the most and us
 * the least: the invite (our signature, no database read beyond the JWKS),
 * then the proof that the host holds the key it registers, and only then
 * the one write that redeems the invite and creates the host's
 * `private_key_jwt` client (invites/store.ts). `attempt` learns the
 * invite's org and jti as soon as the invite verifies, for the audit.
 */
export async function redeemHostInvite(
  request: HostBootstrapRequest,
  context: { env: TokenEnv; config: TokenConfig },
  attempt: BootstrapAttempt,
): Promise<RedeemedInvite> {
  const { env, config } = context;
  const claims = await verifyInvite(request.invite, { issuer: config.issuer, resolveKey: databaseKeyResolver(env.DB) });
  attempt.orgId = claims.org_id;
  attempt.jti = claims.jti;
  const key = await verifyPossessionProof(request.proof, {
    invite: request.invite,
    endpoint: hostBootstrapAudience(config.issuer),
  });
  const clientId = generateClientId();
  const now = new Date();
  const redemption = { jti: claims.jti, orgId: claims.org_id, now };
  const row = await redeemInvite(env.DB, { ...redemption, clientId, jwk: key.jwk });
  if (!row) throw await redemptionRefusal(env.DB, redemption);
  return {
    clientId,
    orgId: row.orgId,
    jti: row.jti,
    kid: key.thumbprint,
    scope: row.scopes,
    audiences: splitList(row.audiences),
    grantTypes: [GRANT_TYPE.clientCredentials],
    tokenEndpoint: `${config.issuer}${ENDPOINT.token}`,
    dpopBoundAccessTokens: row.requireDpop,
  };
}
