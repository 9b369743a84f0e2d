import type { OrgStateNamespace } from "../../../../shared/contracts/org-state.ts";
import { orgStateName } from "../../../../shared/contracts/storage-keys.ts";
import type { AccessTokenClaims } from "../../../../shared/contracts/tokens.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { isTokenRevoked } from "../../../../shared/revocation/is-token-revoked.ts";

/**
 * Whether the token is revoked, from its org's Durable Object (the source
 * of truth, read every time: introspection must answer `active: false` the
 * moment a revocation is recorded). Without that state no answer can be
 * vouched for: 503 `temporarily_unavailable`, for the caller to retry.
 */
export async function isRevokedNow(env: { ORG_STATE: OrgStateNamespace }, claims: AccessTokenClaims): Promise<boolean> {
  try {
    const snapshot = await env.ORG_STATE.getByName(orgStateName(claims.org_id)).snapshot(claims.org_id);
    return isTokenRevoked(snapshot, claims);
  } catch (error) {
    console.error("revocation state unavailable", error);
    throw new OAuthError("temporarily_unavailable", "revocation state unavailable, retry");
  }
}
