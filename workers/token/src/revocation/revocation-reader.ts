import type { OrgStateNamespace, RevocableClaims } from "../../../../shared/contracts/org-state.ts";
import { orgStateName } from "../../../../shared/contracts/storage-keys.ts";

/**
 * Asks each org's Durable Object, the source of truth, whether a token is
 * revoked (its keyed `isRevoked` RPC: the same cost with 0 or 100 000
 * entries, where reading the whole snapshot per check would not be). The
 * gateway works from a view within its staleness bound; the token Worker's
 * own checks (token exchange and ID-JAG redemption, which mint a new token
 * from an old one; introspection; the admin API) ask the object, so a token
 * revoked a moment ago is never honoured here. The rules are
 * shared/revocation/is-token-revoked.ts's. A failed read throws.
 */
export class RevocationReader {
  constructor(private readonly orgState: OrgStateNamespace) {}

  /** Whether a revocation recorded for `orgId` (the token's own org unless named) matches the token. */
  async isRevoked(claims: RevocableClaims, orgId: string = claims.org_id): Promise<boolean> {
    const { jti, sub, client_id, org_id, iat, sid, act, grant_id } = claims;
    // Only the claims a revocation can match cross to the object.
    return this.orgState.getByName(orgStateName(orgId)).isRevoked({
      jti,
      sub,
      client_id,
      org_id,
      iat,
      ...(sid !== undefined ? { sid } : {}),
      ...(act !== undefined ? { act } : {}),
      ...(grant_id !== undefined ? { grant_id } : {}),
    });
  }
}
