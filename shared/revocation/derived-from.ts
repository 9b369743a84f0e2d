import { type AccessTokenClaims, type DerivedFrom, MAX_DERIVED_FROM_LENGTH } from "../contracts/tokens.ts";

/*
 * The `derived_from` claim (shared/contracts/tokens.ts): the tokens of ours
 * a token was derived from by RFC 8693 token exchange, directly or through
 * an ID-JAG of ours — the subject token and, when an agent acted, its actor
 * token (§2.1: the agent's own access token), each with its own ancestry.
 * RFC 7009 §2.1 lets the server revoke "other tokens based on the same
 * authorization grant" with the one presented; an operator revoking a
 * stolen token (a person's, or an agent's own) expects everything made from
 * it to stop too. So a token is refused when any token it was derived from is:
 *
 * - by a `jti` entry of that token (RFC 7009 at our revocation endpoint, an
 *   operator's revoke-by-jti), whenever it was issued; or
 * - by a `client` cut-off of that token's client made at or after that
 *   token's `iat`: the object folds a client's RFC 7009 `jti` entries past
 *   its cap into such a cut-off (and records nothing for a token a live
 *   cut-off already refuses), so the `jti` entry of an ancestor may be
 *   gone while the cut-off stands for it; every view then drops it too.
 *
 * Nothing is written per derived token (no fan-out): the ancestry is signed
 * into the token at its mint, read by the org's object
 * (workers/org-state/src/live-entries.ts), the shared rule
 * (is-token-revoked.ts) and every gateway view
 * (workers/gateway/src/trust/revocation-index.ts), at most
 * MAX_DERIVED_FROM_LENGTH ancestors. An ancestor's other revocations reach
 * its descendants through claims they share already: `sid`, `sub`, `org_id`,
 * `act` and the grants (`grant_id`, `grant_chain`). A descendant never
 * outlives an ancestor (an exchange caps `exp` at the subject and actor
 * tokens'), so the ancestor's `jti` entry, kept until its token's `exp`,
 * outlives it.
 */

/** Whether `value` is a `derived_from` claim: at most MAX_DERIVED_FROM_LENGTH ancestors, each fully named. */
export function isDerivedFrom(value: unknown): value is DerivedFrom[] {
  return Array.isArray(value) && value.length <= MAX_DERIVED_FROM_LENGTH && value.every(isAncestor);
}

function isAncestor(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const { jti, client_id, iat } = value as Record<string, unknown>;
  // An ancestor we could not read whole would let its revocation miss this token.
  return isText(jti) && isText(client_id) && typeof iat === "number" && Number.isSafeInteger(iat);
}

function isText(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

type Lineage = Pick<AccessTokenClaims, "jti" | "client_id" | "iat" | "derived_from">;

/**
 * The `derived_from` of a token made from `tokens` (the tokens of ours an
 * exchange presented, RFC 8693 §2.1: the actor token, then the subject
 * token): each one's own ancestry, then the token itself, in that order,
 * naming each `jti` once (where it first appears, so every ancestor still
 * precedes what was made from it, and the subject token comes last unless
 * the actor's ancestry already named it). Longer than
 * MAX_DERIVED_FROM_LENGTH: null, for the caller to refuse.
 */
export function derivedFromOf(tokens: readonly Lineage[]): DerivedFrom[] | null {
  const chain: DerivedFrom[] = [];
  const named = new Set<string>();
  for (const token of tokens) {
    for (const { jti, client_id, iat } of [...(token.derived_from ?? []), token]) {
      if (named.has(jti)) continue;
      named.add(jti);
      chain.push({ jti, client_id, iat });
    }
  }
  return chain.length > MAX_DERIVED_FROM_LENGTH ? null : chain;
}

/** Whether a `jti` entry of `jti` names a token this one was derived from. */
export function derivedFromJti(ancestors: readonly DerivedFrom[] | undefined, jti: string): boolean {
  if (ancestors === undefined) return false;
  for (const ancestor of ancestors) if (ancestor.jti === jti) return true;
  return false;
}

/** Whether a `client` cut-off of `clientId` made at `revokedAt` refuses a token this one was derived from. */
export function derivedFromClientCutOff(
  ancestors: readonly DerivedFrom[] | undefined,
  clientId: string,
  revokedAt: number,
): boolean {
  if (ancestors === undefined) return false;
  for (const ancestor of ancestors) if (ancestor.client_id === clientId && ancestor.iat <= revokedAt) return true;
  return false;
}
