import type { OrgStateNamespace, RevocableClaims } from "../../../../shared/contracts/org-state.ts";
import { orgStateName } from "../../../../shared/contracts/storage-keys.ts";
import { revocableClaims } from "../../../../shared/revocation/revocable-claims.ts";

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
    return this.orgState.getByName(orgStateName(orgId)).isRevoked(revocableClaims(claims));
  }

  /**
   * isRevoked for several tokens, each against its own org, answered in
   * order: one call per org, the orgs side by side, so a token exchange's
   * subject and actor tokens (one org) cost one round trip, not two.
   */
  async areRevoked(tokens: readonly RevocableClaims[]): Promise<boolean[]> {
    const byOrg = new Map<string, number[]>();
    tokens.forEach((claims, index) => {
      const indexes = byOrg.get(claims.org_id);
      if (indexes) indexes.push(index);
      else byOrg.set(claims.org_id, [index]);
    });
    const answers = new Array<boolean>(tokens.length).fill(false);
    await Promise.all(
      [...byOrg].map(async ([orgId, indexes]) => {
        const stub = this.orgState.getByName(orgStateName(orgId));
        const revoked = await stub.areRevoked(
          indexes.map((index) => revocableClaims(tokens[index] as RevocableClaims)),
        );
        // A short answer would leave a token unchecked: refuse it rather than read false.
        if (revoked.length !== indexes.length)
          throw new Error("OrgState.areRevoked answered for the wrong number of tokens");
        indexes.forEach((index, position) => {
          answers[index] = revoked[position] === true;
        });
      }),
    );
    return answers;
  }
}
