import type { RevocableClaims } from "../contracts/revocation.ts";
import { parseClientSubjectValue, type RevocationEntry, type RevocationSnapshot } from "../contracts/revocation.ts";
import type { ActorClaim } from "../contracts/tokens.ts";
import { derivedFromClientCutOff, derivedFromJti } from "./derived-from.ts";
import { isBrowserGrant, namesGrantOfClient } from "./grant-chain-clients.ts";

export type { RevocableClaims } from "../contracts/revocation.ts";

/**
 * Whether any entry of an org's revocation snapshot (its Durable Object,
 * the source of truth) matches the token: its `jti`, its session or the
 * delegation grants it rests on (`grant_id`, `grant_chain`), or a
 * subject, client, client_subject or org cut-off made at or after the token
 * was issued (shared/contracts/revocation.ts). A client cut-off matches the token's own
 * client and every client along its `act` chain (tokenClients): an actor
 * client that was revoked (disabled, deleted) must not keep delegating
 * through tokens it passed on. A token derived from others by token
 * exchange (`derived_from`) is refused with any of them: an ancestor's `jti`
 * entry, or a client cut-off of an ancestor's client at or after that
 * ancestor's `iat` (derived-from.ts). For callers that read one snapshot per
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
      // RFC 7009 §2.1: the revocation of a token ends what was derived from it too.
      return entry.value === claims.jti || derivedFromJti(claims.derived_from, entry.value);
    case "session":
      return claims.sid !== undefined && entry.value === claims.sid;
    case "grant":
      return entry.value === claims.grant_id || (claims.grant_chain?.includes(entry.value) ?? false);
    case "subject":
      return entry.value === claims.sub && claims.iat <= entry.revokedAt;
    case "client":
      return (
        (clients.includes(entry.value) && claims.iat <= entry.revokedAt) ||
        derivedFromClientCutOff(claims.derived_from, entry.value, entry.revokedAt)
      );
    case "org":
      return entry.value === claims.org_id && claims.iat <= entry.revokedAt;
    case "client_subject": {
      const pair = parseClientSubjectValue(entry.value);
      // A value the object never makes names no pair: like an unknown kind, it refuses.
      if (pair === null) return true;
      return clientSubjectCutOffRevokes(pair.clientId, pair.subject, entry.revokedAt, claims);
    }
    default:
      // A kind this code does not know (a newer object's): what it cuts off
      // cannot be told, so it refuses rather than let a revoked token pass.
      return true;
  }
}

/**
 * Whether a `client_subject` cut-off of (clientId, subject) made at
 * `revokedAt` refuses the token: one of the person's (`sub`) issued at or
 * before it, to that client (`client_id`), or resting on the person's
 * browser grant at that client (`grant_chain_clients` names it). The
 * cut-off is the fold of that client's browser-grant entries of the person
 * (workers/org-state/src/browser-grant-revocation.ts), so it must refuse
 * every token those entries refused: a browser grant's own tokens carry its
 * client, and so does every token exchanged from them without an actor
 * (RFC 8693 client continuity: workers/token/src/grants/token-exchange-parties.ts,
 * and the ID-JAG's redemption); a delegation (an `actor_token`) issues one
 * to another client, which names the browser grant in `grant_chain` and its
 * client in `grant_chain_clients`. A token resting on the person's grants
 * at other clients alone is not theirs to end. A delegated token signed
 * before `grant_chain_clients` existed does not say whose grant it rests
 * on: any such cut-off of its person refuses it (delegatedFromUnnamedBrowserGrant).
 */
export function clientSubjectCutOffRevokes(
  clientId: string,
  subject: string,
  revokedAt: number,
  claims: Pick<RevocableClaims, "sub" | "client_id" | "iat" | "act" | "grant_chain" | "grant_chain_clients">,
): boolean {
  if (claims.sub !== subject || claims.iat > revokedAt) return false;
  if (claims.client_id === clientId) return true;
  const named = claims.grant_chain_clients;
  return named !== undefined ? namesGrantOfClient(named, clientId) : delegatedFromUnnamedBrowserGrant(claims);
}

/**
 * A token issued through a delegation (`act`) that rests on a browser
 * authorization grant (BROWSER_GRANT_ID_PREFIX in `grant_chain`) without
 * saying which client it was issued to (no `grant_chain_clients`: signed
 * before the claim existed, or made from such a token): a `client_subject`
 * cut-off of its person at any client refuses it (issued up to the
 * cut-off). Fails closed, so a deploy never lets such a token through; they
 * are gone MAX_ACCESS_TOKEN_TTL_SECONDS after it.
 */
export function delegatedFromUnnamedBrowserGrant(
  claims: Pick<RevocableClaims, "act" | "grant_chain" | "grant_chain_clients">,
): boolean {
  if (claims.act === undefined || claims.grant_chain === undefined || claims.grant_chain_clients !== undefined) {
    return false;
  }
  return claims.grant_chain.some(isBrowserGrant);
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
