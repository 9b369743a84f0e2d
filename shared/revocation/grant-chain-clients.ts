import { BROWSER_GRANT_ID_PREFIX } from "../contracts/oidc.ts";
import type { AccessTokenClaims } from "../contracts/tokens.ts";

/*
 * The `grant_chain_clients` claim (shared/contracts/tokens.ts): which client
 * each browser authorization grant a delegated token rests on was issued
 * to, so a `client_subject` cut-off of one person at one client refuses
 * exactly the tokens resting on their grants at that client
 * (is-token-revoked.ts clientSubjectCutOffRevokes). Read, minted and
 * matched here, so the token Worker, the gateway and the org's object
 * agree on its shape.
 */

/** The longest browser client id a `grant_chain_clients` claim names (grantChainClientsFor). */
export const MAX_NAMED_CLIENT_ID_LENGTH = 256;

/** A browser authorization grant's id (BROWSER_GRANT_ID_PREFIX), not a delegation grant's. */
export function isBrowserGrant(grant: string): boolean {
  return grant.startsWith(BROWSER_GRANT_ID_PREFIX);
}

/**
 * Whether `value` is a `grant_chain_clients` claim for `chain`: an object
 * with exactly one member per browser grant id of `chain` (none else), each
 * a non-empty client id. Anything looser is refused where claims are read:
 * a member for a grant the chain does not name, or a browser grant of the
 * chain without one, would let a cut-off of the grant's real client miss
 * the token; an empty object would read as "rests on no browser grant".
 */
export function isGrantChainClients(value: unknown, chain: unknown): value is Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || !Array.isArray(chain)) return false;
  const browserGrants = new Set<string>();
  for (const grant of chain) if (typeof grant === "string" && isBrowserGrant(grant)) browserGrants.add(grant);
  const members = Object.entries(value);
  if (browserGrants.size === 0 || members.length !== browserGrants.size) return false;
  return members.every(([grant, client]) => browserGrants.has(grant) && typeof client === "string" && client !== "");
}

/**
 * The client of every browser grant a token rests on (its `grant_id` and
 * `grant_chain`), for a token made from it to carry; `{}` when it rests on
 * none; undefined when its chain names one without saying whose (a token
 * signed before `grant_chain_clients`): a token made from that one must not
 * carry the claim either, so it stays under the conservative rule.
 */
export function restingGrantClients(
  claims: Pick<AccessTokenClaims, "client_id" | "grant_id" | "grant_chain" | "grant_chain_clients" | "act">,
): Record<string, string> | undefined {
  const known: Record<string, string> = {};
  // Only a browser token carries a browser grant as its own `grant_id`
  // (oidc/sign-browser-token.ts), and it is that grant's client's. Such a
  // token acts for nobody: one with `act` is none of ours, so whose its grant
  // is stays unknown rather than read from a `client_id` that may be an actor's.
  if (claims.grant_id !== undefined && isBrowserGrant(claims.grant_id)) {
    if (claims.act !== undefined) return undefined;
    known[claims.grant_id] = claims.client_id;
  }
  for (const grant of claims.grant_chain ?? []) {
    if (!isBrowserGrant(grant)) continue;
    const named = claims.grant_chain_clients;
    if (named === undefined || !Object.hasOwn(named, grant)) return undefined;
    known[grant] = named[grant] as string;
  }
  return known;
}

/**
 * The `grant_chain_clients` of a token minted resting on `chain`, from the
 * clients of the grants it was made from (restingGrantClients, or an
 * ID-JAG's claim): undefined, so the claim is left out, when the chain
 * names no browser grant, or one whose client is not known (then the token
 * falls under the conservative rule, never under a laxer one).
 */
export function grantChainClientsFor(
  chain: readonly string[],
  known: Readonly<Record<string, string>> | undefined,
): Record<string, string> | undefined {
  if (known === undefined) return undefined;
  const clients: [string, string][] = [];
  for (const grant of chain) {
    if (!isBrowserGrant(grant)) continue;
    if (!Object.hasOwn(known, grant)) return undefined;
    const client = known[grant] as string;
    // A metadata document client's id is a URL of up to 2,048 characters: copied into a delegated token
    // it could push the token past the gateway's Authorization cap (8 KiB) and refuse it. Such a
    // token is left without the claim instead, under the conservative rule: more refusals, never fewer.
    if (client.length > MAX_NAMED_CLIENT_ID_LENGTH) return undefined;
    clients.push([grant, client]);
  }
  return clients.length > 0 ? Object.fromEntries(clients) : undefined;
}

/** Whether a `grant_chain_clients` claim names a browser grant of `clientId`; allocates nothing (the gateway's hot path). */
export function namesGrantOfClient(clients: Readonly<Record<string, string>>, clientId: string): boolean {
  for (const grant in clients) if (clients[grant] === clientId) return true;
  return false;
}
