import type { AccessTokenClaims } from "./tokens.ts";

/**
 * The revocation contract, in three files: this one (the kinds, their
 * values, an event as callers record it, an entry and the snapshot),
 * revocation-recording.ts (what the object's recording calls take and
 * answer, and the bounds on what it keeps) and revocation-stream.ts (what
 * flows out of the object: the log's events, change pages, sync answers and
 * the live stream). Importing from here reaches all three.
 */
export * from "./revocation-recording.ts";
export * from "./revocation-stream.ts";

/**
 * Revocation events (DESIGN, "Revocation"). A token is revoked when any of
 * these matches it; subject, client, client_subject and org revocations cut
 * off every token issued at or before the revocation. A `grant` revocation
 * (a delegation grant's id, or a browser authorization's:
 * BROWSER_GRANT_ID_PREFIX in shared/contracts/oidc.ts) cuts off every token
 * minted under that grant: its `grant_id` claim (shared/contracts/tokens.ts).
 * A `client_subject` cut-off (value: clientSubjectValue) is one person's
 * tokens at one client, the fold of that person's browser-grant entries for
 * that client (MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON); only the org's
 * object records it.
 */
export type RevocationKind = "jti" | "session" | "subject" | "client" | "grant" | "org" | "client_subject";

/**
 * Every kind a snapshot, the event log or a stream may carry. A reader that
 * meets a kind outside it (a newer object) must fail closed, never skip it:
 * the gateway view refuses to build or apply it (503 until it knows the
 * kind), shared/revocation/is-token-revoked.ts refuses the token. At most 8
 * (the gateway's hash table keeps the kind in 3 bits, revocation-table.ts).
 */
export const REVOCATION_KINDS: readonly RevocationKind[] = [
  "jti",
  "session",
  "subject",
  "client",
  "grant",
  "org",
  "client_subject",
];

/**
 * The kinds OrgState.revoke (and so the admin API and `mono-auth revoke`)
 * records. Not `client_subject`: only the object's fold makes one, with the
 * columns that say whose it is (workers/org-state/src/browser-grant-revocation.ts).
 */
export const RECORDABLE_REVOCATION_KINDS: readonly RevocationKind[] = REVOCATION_KINDS.filter(
  (kind) => kind !== "client_subject",
);

/**
 * The value of a `client_subject` cut-off: the JSON array `[clientId,
 * subject]`. JSON escapes every quote and backslash in either id, so no two
 * pairs share a value (a separator character could appear in an id) and one
 * pair has exactly one: the object's key, every gateway's hash and an SSF or
 * console reader all see the same string.
 */
export function clientSubjectValue(clientId: string, subject: string): string {
  return JSON.stringify([clientId, subject]);
}

/** The pair a `client_subject` value names, or null for a value clientSubjectValue did not make. */
export function parseClientSubjectValue(value: string): { clientId: string; subject: string } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) return null;
  const [clientId, subject] = parsed as unknown[];
  if (typeof clientId !== "string" || typeof subject !== "string" || clientId === "" || subject === "") return null;
  return clientSubjectValue(clientId, subject) === value ? { clientId, subject } : null;
}

/**
 * What a token redeemed from an external IdP's ID-JAG rests on: the org's
 * trust in that issuer (`trusted_issuer.id`, a random id per trust, so
 * trusting the issuer again later is a new one). It rides in the token's
 * `grant_chain` like a delegation grant, and an org that stops trusting the
 * issuer records a `grant` revocation of it (workers/token/src/admin/
 * trusted-issuers.ts), which refuses every token minted from that issuer's
 * grants and every token exchanged from one, whenever issued.
 */
export const TRUSTED_ISSUER_GRANT_PREFIX = "trusted-issuer:";

/** The `grant` value of an org's trust in an external ID-JAG issuer (TRUSTED_ISSUER_GRANT_PREFIX). */
export function trustedIssuerGrantId(trustedIssuerId: string): string {
  return `${TRUSTED_ISSUER_GRANT_PREFIX}${trustedIssuerId}`;
}

export interface RevocationEvent {
  orgId: string;
  kind: RevocationKind;
  /** The jti, session id, subject, client id, or the org id itself. */
  value: string;
  /** Why, for the audit trail ("sign-out", "operator", …). */
  reason: string;
}

export interface RevocationEntry {
  kind: RevocationKind;
  value: string;
  /** Seconds since the epoch. */
  revokedAt: number;
  /** After this (seconds), no token it could match is still valid; pruned. */
  expiresAt: number;
  /**
   * Only on a jti entry recorded through RFC 7009 (OrgState.revokeToken):
   * the token's signed `client_id`, with `issuedAt` its `iat` (s). A `client`
   * cut-off of that client made at or after `issuedAt` refuses the token, so
   * a holder of the entry may drop it when such a cut-off arrives (a
   * gateway's view does: workers/gateway/src/trust/revocation-index.ts).
   * Absent on every other entry and on jti entries recorded before it: those
   * are kept until they expire.
   */
  clientId?: string;
  issuedAt?: number;
  /**
   * Only on a browser `grant` entry recorded through
   * OrgState.revokeBrowserGrant: the person whose grant it is (the tokens'
   * `sub`), with `clientId` the grant's client (no `issuedAt`). A `subject`
   * cut-off of that person, or a `client_subject` cut-off of that person at
   * that client, made at least CLOCK_TOLERANCE_SECONDS after the entry's
   * `revokedAt` refuses every token of the grant (each was signed before
   * its refresh tokens were revoked, which was before the entry;
   * shared/revocation/grant-entry-fold.ts), so a holder may drop it when
   * such a cut-off arrives. Also on a `client_subject` entry: the pair its
   * value names, as columns the object looks the person up by.
   */
  subject?: string;
}

/**
 * What a gateway reads from the org's Durable Object once per staleness
 * window: its revocations and, alongside, which policy version is current,
 * so one refresh switches both (docs/revocation.md).
 */
export interface RevocationSnapshot {
  orgId: string;
  /** Increases with every recorded revocation. */
  version: number;
  entries: RevocationEntry[];
  /**
   * The org's published policy version (the KV snapshot KV_KEY.policy), or
   * null when it has published none and the default policy applies.
   */
  policyVersion: number | null;
}

/**
 * The claims a revocation can match (shared/revocation/is-token-revoked.ts).
 * It lives here, beside the events, because Node-side code (the CLI, system
 * tests) reads it and must not pull in the Workers types org-state.ts uses.
 */
export type RevocableClaims = Pick<
  AccessTokenClaims,
  | "jti"
  | "sub"
  | "client_id"
  | "org_id"
  | "iat"
  | "sid"
  | "act"
  | "grant_id"
  | "grant_chain"
  | "grant_chain_clients"
  | "derived_from"
>;
