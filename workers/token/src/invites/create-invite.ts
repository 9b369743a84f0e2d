import type { TokenConfig } from "../config.ts";
import { joinList } from "../clients/stored-client.ts";
import { keyStore } from "../keys/signing-keys.ts";
import { hostBootstrapAudience, type InviteClaims, signInvite } from "./invite-token.ts";
import { insertInvite } from "./store.ts";

/** An invite as an operator asks for it, already checked (admin/invites.ts). */
export interface InviteRequest {
  orgId: string;
  labels: Record<string, string>;
  scopes: readonly string[];
  audiences: readonly string[];
  ttlSeconds: number;
  /** RFC 9449 §5.2 `dpop_bound_access_tokens` for the host's client. */
  dpopBoundAccessTokens: boolean;
  /** The operator (client id) who made it. */
  createdBy: string;
}

export interface CreatedInvite {
  invite: string;
  claims: InviteClaims;
}

/**
 * Makes a host invite: its `host_invite` row first (what redemption
 * trusts and spends, invites/store.ts), then the signed JWT the operator
 * hands to the host. If signing fails after the insert, the row is an
 * invite nobody holds, which expires unused.
 */
export async function createInvite(
  env: Pick<TokenEnv, "DB" | "KV">,
  config: TokenConfig,
  request: InviteRequest,
): Promise<CreatedInvite> {
  const now = Date.now();
  const iat = Math.floor(now / 1000);
  const claims: InviteClaims = {
    iss: config.issuer,
    aud: hostBootstrapAudience(config.issuer),
    jti: crypto.randomUUID(),
    iat,
    exp: iat + request.ttlSeconds,
    org_id: request.orgId,
    scope: joinList(request.scopes),
    audiences: [...request.audiences],
    labels: request.labels,
    dpop_bound_access_tokens: request.dpopBoundAccessTokens,
  };
  await insertInvite(env.DB, {
    jti: claims.jti,
    orgId: claims.org_id,
    labels: JSON.stringify(claims.labels),
    scopes: claims.scope,
    audiences: joinList(claims.audiences),
    expiresAt: new Date(claims.exp * 1000),
    createdBy: request.createdBy,
    createdAt: new Date(now),
    requireDpop: request.dpopBoundAccessTokens,
  });
  return { invite: await signInvite(keyStore(env, config), claims), claims };
}
