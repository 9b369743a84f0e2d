import type { OrgStateNamespace } from "../../../../shared/contracts/org-state.ts";
import type { RevocationSnapshot } from "../../../../shared/contracts/revocation.ts";
import { orgStateName } from "../../../../shared/contracts/storage-keys.ts";
import { isTokenRevoked, type RevocableClaims } from "../../../../shared/revocation/is-token-revoked.ts";

/**
 * Reads revocations straight from each org's Durable Object (its `snapshot`
 * RPC), once per org per reader: make one per request. The gateway works
 * from a view within its staleness bound; the token Worker's own checks
 * (token exchange and ID-JAG redemption, which mint a new token from an old
 * one; introspection; the admin API) ask the source of truth, so a token
 * revoked a moment ago is never honoured here. The rules are
 * shared/revocation/is-token-revoked.ts's. A failed read throws.
 */
export class RevocationReader {
  private readonly snapshots = new Map<string, Promise<RevocationSnapshot>>();

  constructor(private readonly orgState: OrgStateNamespace) {}

  /** Whether a revocation recorded for `orgId` (the token's own org unless named) matches the token. */
  async isRevoked(claims: RevocableClaims, orgId: string = claims.org_id): Promise<boolean> {
    return isTokenRevoked(await this.snapshot(orgId), claims);
  }

  /**
   * Starts reading an org's revocations now, so the read overlaps other
   * work; the check itself still happens in isRevoked, on this same read,
   * and a failed read surfaces there.
   */
  prefetch(orgId: string): void {
    this.snapshot(orgId).catch(() => undefined);
  }

  private snapshot(orgId: string): Promise<RevocationSnapshot> {
    let snapshot = this.snapshots.get(orgId);
    if (!snapshot) {
      snapshot = this.orgState.getByName(orgStateName(orgId)).snapshot(orgId);
      this.snapshots.set(orgId, snapshot);
    }
    return snapshot;
  }
}
