import type { RevocableClaims } from "../contracts/revocation.ts";
import type { RevocationEntry, RevocationSnapshot } from "../contracts/revocation.ts";
import type { ActorClaim } from "../contracts/tokens.ts";

export type { RevocableClaims } from "../contracts/revocation.ts";

/**
 * Whether any entry of an org's revocation snapshot (its Durable Object,
 * the source of truth) matches the token: its `jti`, its session or the
 * delegation grants it rests on (`grant_id`, `grant_chain`), or a
 * subject, client or org cut-off made at or after the token was issued
 * (shared/contracts/revocation.ts). A client cut-off matches the token's own
 * client and every client along its `act` chain (tokenClients): an actor
 * client that was revoked (disabled, deleted) must not keep delegating
 * through tokens it passed on. For callers that read one snapshot per
 * token (the token Worker); the gateway keeps an indexed view of the same
 * rules (workers/gateway/src/trust/revocation-view.ts).
 */
export function isTokenRevoked(snapshot: RevocationSnapshot, claims: RevocableClaims): boolean {
  const clients = tokenClients(claims);
  return snapshot.entries.some((entry) => entryRevokes(entry, claims, clients));
}

/** Whether this one entry cuts the token off (isTokenRevoked's rule); `clients` is tokenClients(claims). */
export function entryRevokes(
  entry: Pick<RevocationEntry, "kind" | "value" | "revokedAt">,
  claims: RevocableClaims,
  clients: readonly string[] = tokenClients(claims),
): boolean {
  switch (entry.kind) {
    case "jti":
      return entry.value === claims.jti;
    case "session":
      return claims.sid !== undefined && entry.value === claims.sid;
    case "grant":
      return entry.value === claims.grant_id || (claims.grant_chain?.includes(entry.value) ?? false);
    case "subject":
      return entry.value === claims.sub && claims.iat <= entry.revokedAt;
    case "client":
      return clients.includes(entry.value) && claims.iat <= entry.revokedAt;
    case "org":
      return entry.value === claims.org_id && claims.iat <= entry.revokedAt;
    default:
      return false;
  }
}

/**
 * The clients a client revocation cuts a token off for: the one it was
 * issued to, then each actor's along the `act` chain (RFC 8693 §4.1,
 * outermost first).
 */
export function tokenClients(claims: Pick<RevocableClaims, "client_id" | "act">): string[] {
  const clients = [claims.client_id];
  for (let actor: ActorClaim | undefined = claims.act; actor; actor = actor.act) {
    if (actor.client_id !== undefined) clients.push(actor.client_id);
  }
  return clients;
}
