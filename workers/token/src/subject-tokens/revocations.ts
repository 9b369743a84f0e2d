import type { OrgStateNamespace } from "../../../../shared/contracts/org-state.ts";
import type { RevocationSnapshot } from "../../../../shared/contracts/revocation.ts";
import { orgStateName } from "../../../../shared/contracts/storage-keys.ts";
import type { ActorClaim } from "../../../../shared/contracts/tokens.ts";

/** What a revocation can match on a token (the kinds of shared/contracts/revocation.ts). */
export interface RevocableToken {
  orgId: string;
  jti: string;
  subject: string;
  clientId: string;
  /** Seconds since the epoch: subject, client and org revocations cut off tokens issued at or before them. */
  issuedAt: number;
  sessionId?: string;
  act?: ActorClaim;
}

/**
 * Reads revocations straight from each org's Durable Object (its `snapshot`
 * RPC), once per org per request. The gateway works from a view within its
 * staleness bound; a token exchange mints a new token from an old one, so
 * it asks the source of truth: a token revoked a moment ago never becomes a
 * fresh one.
 */
export class RevocationReader {
  private readonly snapshots = new Map<string, Promise<RevocationSnapshot>>();

  constructor(private readonly orgState: OrgStateNamespace) {}

  async isRevoked(token: RevocableToken): Promise<boolean> {
    let snapshot = this.snapshots.get(token.orgId);
    if (!snapshot) {
      snapshot = this.orgState.getByName(orgStateName(token.orgId)).snapshot(token.orgId);
      this.snapshots.set(token.orgId, snapshot);
    }
    return matches(await snapshot, token);
  }
}

/**
 * The gateway's rules (workers/gateway/src/trust/revocation-view.ts), plus
 * every client along the `act` chain: an actor client that was revoked
 * (disabled, deleted) must not keep delegating through tokens it passed on.
 */
function matches(snapshot: RevocationSnapshot, token: RevocableToken): boolean {
  const clients = new Set([token.clientId, ...actorClients(token.act)]);
  return snapshot.entries.some((entry) => {
    switch (entry.kind) {
      case "jti":
        return entry.value === token.jti;
      case "session":
        return token.sessionId !== undefined && entry.value === token.sessionId;
      case "subject":
        return entry.value === token.subject && token.issuedAt <= entry.revokedAt;
      case "client":
        return clients.has(entry.value) && token.issuedAt <= entry.revokedAt;
      case "org":
        return entry.value === token.orgId && token.issuedAt <= entry.revokedAt;
      default:
        return false;
    }
  });
}

function actorClients(act: ActorClaim | undefined): string[] {
  const out: string[] = [];
  for (let current = act; current; current = current.act) {
    if (current.client_id) out.push(current.client_id);
  }
  return out;
}
