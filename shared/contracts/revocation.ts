import type { AccessTokenClaims } from "./tokens.ts";

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
export const RECORDABLE_REVOCATION_KINDS: readonly RevocationKind[] = [
  "jti",
  "session",
  "subject",
  "client",
  "grant",
  "org",
];

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

export interface RevocationEvent {
  orgId: string;
  kind: RevocationKind;
  /** The jti, session id, subject, client id, or the org id itself. */
  value: string;
  /** Why, for the audit trail ("sign-out", "operator", …). */
  reason: string;
}

/**
 * The most seconds OrgState.revoke lets a `grant` recording's entry live
 * past its usual end (now + the longest access-token lifetime + the clock
 * tolerance): its `slackSeconds`. A grant is recorded before D1 marks it
 * revoked (workers/token/src/revocations/grant-revocation.ts), and a mint
 * that read it `active` just before D1 changed carries an `iat` up to that
 * change; the slack lets the one entry outlive that token too, so the
 * revocation logs one event instead of two. Only `grant`: a subject,
 * client or org cut-off matches tokens issued at or before it alone, all
 * dead by its usual end, and a jti entry ends with its token, so a slack
 * would keep them longer for nothing. Bounded so no caller keeps an entry
 * (in every gateway view, the mirror and the log) far past any token it
 * can match.
 */
export const MAX_REVOCATION_SLACK_SECONDS = 120;

/**
 * The most live `jti` entries one client's RFC 7009 revocations of its own
 * tokens keep in an org. The next one folds them: the object records one
 * `client` cut-off (every token of that client issued up to now) and drops
 * the entries it covers (OrgState.revokeToken, docs/revocation.md "Bounds").
 * A client that mints 600 a minute for an hour could otherwise hold ~36,000
 * entries, which every gateway, mirror and snapshot of the org carries.
 */
export const MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT = 1_000;

/**
 * The org-wide ceiling on live entries of every kind, past which any RFC
 * 7009 revocation (a resource server's of another client's token too) is
 * folded into its token's client's cut-off. Nothing is ever refused for it:
 * the other kinds are bounded by people and admins (members, sessions,
 * clients, grants), and a refused revocation would leave a token honoured.
 * 100,000 is what the gateway's view is sized and measured for (docs/revocation.md).
 */
export const MAX_LIVE_REVOCATIONS_PER_ORG = 100_000;

/**
 * The most live browser-grant entries (RFC 7009 §2.1: a `grant` revocation
 * of a browser refresh token's authorization, or of one whose refresh token
 * was reused) one person's grants to one client keep in an org. The next
 * one folds them: the object records a `client_subject` cut-off of that
 * person at that client (their tokens issued to it up to now) and drops
 * that client's browser-grant entries of theirs it covers
 * (OrgState.revokeBrowserGrant, docs/revocation.md "Bounds"). Each
 * authorization a member completes and revokes leaves an entry for an hour,
 * so one member scripting it (~28 a second) could otherwise bring the org
 * to MAX_LIVE_REVOCATIONS_PER_ORG, past which every client's RFC 7009
 * revocation there folds into a cut-off of its whole client: a denial of
 * service on everyone else. Scoped to the client, not the person: a client
 * the person consented to can end its own grants at will (silent
 * authorization, then RFC 7009), and a cut-off of the whole person would
 * let it end their tokens at every other client. 50 in an hour is far
 * beyond any person signing in to and out of one application.
 */
export const MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON = 50;

/**
 * A browser authorization grant whose tokens end (OrgState.revokeBrowserGrant):
 * its id, the client it was issued to and the person who consented, all
 * read from the grant's refresh token rows (EndedBrowserGrant,
 * shared/contracts/oidc-grants.ts), never from the request.
 */
export interface BrowserGrantRevocation {
  orgId: string;
  /** The tokens' `grant_id` (BROWSER_GRANT_ID_PREFIX, shared/contracts/oidc.ts). */
  grantId: string;
  clientId: string;
  /** The person: the tokens' `sub`. */
  subject: string;
  /** Why, for the audit trail ("rfc7009 refresh token by <client>"). */
  reason: string;
}

/**
 * How the object recorded a BrowserGrantRevocation: `grant`, one entry
 * attributed to its client and person; `client_subject`, the person's
 * entries for that client folded into a `client_subject` cut-off, logged
 * before the grant's own entry (which is kept: it alone also refuses a
 * token of the grant signed after the cut-off's second). `version` is the
 * org's revocation version after it.
 */
export interface BrowserGrantRevocationOutcome {
  version: number;
  recorded: "grant" | "client_subject";
}

/**
 * One access token revoked through RFC 7009 (OrgState.revokeToken): its
 * claims, so the object can attribute the entry to the token's own client
 * and fold that client's entries past MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT.
 */
export interface TokenRevocation {
  claims: RevocableClaims;
  /** The token's `exp` (s): the entry is kept until then plus the clock tolerance. */
  expiresAt: number;
  /**
   * The token's own client asked (RFC 7009 §2.1), not a resource server:
   * only then may its count fold it, so a fold cuts off the asker alone.
   */
  byTokenClient: boolean;
  /** Why, for the audit trail ("rfc7009 by <client>"). */
  reason: string;
}

/**
 * How the object recorded a TokenRevocation: `jti`, one entry; `client`,
 * folded into a cut-off of the token's client (logged after the jti event);
 * `covered`, nothing new, because a live cut-off (its client, subject or
 * org at or after its `iat`) or its own jti entry already refuses it for
 * its whole lifetime. `version` is the org's revocation version after it.
 */
export interface TokenRevocationOutcome {
  version: number;
  recorded: "jti" | "client" | "covered";
}

/**
 * The most `subject` cut-offs one OrgState.revokeSubjects call records.
 * A caller with more (a SCIM Group write renaming a large `admin` Group)
 * sends them in calls of at most this many: each call is one storage
 * transaction and as many events published to every subscriber and
 * gateway channel, so the object's turn stays short; and a gateway view one
 * call behind still catches up from one REVOCATION_CHANGES_PAGE (500) of
 * the log instead of a resync.
 */
export const MAX_SUBJECT_REVOCATIONS_PER_CALL = 500;

/**
 * How OrgState.revokeSubjects recorded each person, in the order asked:
 * `recorded` with the version (log `seq`) of that person's cut-off, or
 * `refused` for a value the object does not take (not a string of
 * 1..256 characters), which records nothing for that person and does not
 * keep the others from being recorded. `version` is the org's revocation
 * version after the call.
 */
export interface SubjectRevocationsOutcome {
  version: number;
  subjects: ({ value: string; recorded: true; seq: number } | { value: string; recorded: false })[];
}

/**
 * The most versions' events the org's object keeps in its log
 * (revocation-log.ts): a reader further behind reads the snapshot instead
 * (resync), which the caps keep near MAX_LIVE_REVOCATIONS_PER_ORG entries,
 * so replaying more events than that would not beat it. Without it the log
 * kept every event until its entry expired: a folding client's jti events
 * alone up to its mint limit times the token lifetime (~36,000), with no
 * cap across clients.
 */
export const MAX_REVOCATION_LOG_EVENTS = MAX_LIVE_REVOCATIONS_PER_ORG;

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
 * One recorded revocation as the org's Durable Object logs it and sends it to
 * live subscribers: `seq` is the revocation version the write produced, so
 * events arrive (and are resumed) in version order. Snake case: this is the
 * wire shape subscribers read.
 */
export interface RevocationLogEvent {
  seq: number;
  kind: RevocationKind;
  value: string;
  revoked_at: number;
  expires_at: number;
  reason: string;
  /**
   * Only on a jti event recorded through RFC 7009: the token's `client_id`
   * and `iat` (RevocationEntry.clientId); on a browser grant event
   * (OrgState.revokeBrowserGrant): the grant's `client_id` and `subject`,
   * the person (RevocationEntry.subject); on a `client_subject` event: the
   * pair its value names.
   */
  client_id?: string;
  issued_at?: number;
  subject?: string;
}

/** The most events one changesSince answer carries. */
export const REVOCATION_CHANGES_PAGE = 500;

/**
 * What changesSince(after) answers. `changes`: the events with seq > after
 * (at most REVOCATION_CHANGES_PAGE, oldest first; `more` says another page
 * follows). `resync`: events after `after` are no longer in the log (pruned
 * with their expired entries, or `after` is ahead of this object), so the
 * caller starts over from snapshot() at `version`.
 */
export type RevocationChanges =
  | { kind: "changes"; version: number; events: RevocationLogEvent[]; more: boolean }
  | { kind: "resync"; version: number };

/**
 * One message on an org's revocation stream (WebSocket text frame or SSE
 * `data:`): a recorded revocation, or "resync" when the events after the
 * subscriber's position are no longer logged — it then reads the snapshot
 * and carries on from `version`.
 */
export type RevocationStreamMessage =
  | ({ type: "revocation" } & RevocationLogEvent)
  | { type: "resync"; version: number };

/**
 * How many events a gateway sync answer reaches back beyond what its caller
 * asked for, so the copy one isolate writes to its location's cache also
 * catches up every other isolate there that is up to this many versions
 * behind (workers/gateway/src/trust/revocation-sync.ts).
 */
export const REVOCATION_SYNC_TAIL = 64;

/**
 * What a gateway reads from the org's Durable Object to bring its view up to
 * date (sync(after)), with the policy version alongside:
 * - `delta`: the events with seq in (from, through], oldest first, so a view
 *   at any version in [from, through] reaches `through` by applying the ones
 *   above its own. `more`: the object is further on; ask again after
 *   `through`. Otherwise `through` is the object's version.
 * - `snapshot`: the caller is too far behind (or ahead) for the log: every
 *   live entry at `snapshot.version`.
 */
export type RevocationSync =
  | {
      kind: "delta";
      orgId: string;
      from: number;
      through: number;
      events: RevocationLogEvent[];
      more: boolean;
      policyVersion: number | null;
    }
  | { kind: "snapshot"; snapshot: RevocationSnapshot };

/**
 * What the org's Durable Object sends on a gateway's push channel (a
 * hibernatable WebSocket, workers/gateway/src/trust/revocation-channel.ts):
 * the stream's messages, plus `state` once the backlog after the channel's
 * starting version is sent, and `policy` whenever the current policy
 * version changes. The runtime answers the text frame "ping" with "pong"
 * after every frame sent before it, which is how a gateway proves its view
 * is current without waking the object.
 */
export type GatewayChannelMessage =
  | RevocationStreamMessage
  | { type: "state"; version: number; policyVersion: number | null }
  | { type: "policy"; policyVersion: number | null };

/** The object's path for a gateway's push channel (never forwarded by the admin API). */
export const GATEWAY_CHANNEL_PATH = "/revocations/gateway-channel";

/**
 * The request header in which the token Worker tells the org's object who
 * opened a revocation stream subscription (the admin API's and the SSF
 * transmitter's `…/revocations/stream`), as JSON SubscriberCredential. Set
 * only on the request the token Worker builds for the object
 * (workers/token/src/revocations/stream.ts), never copied from a caller's.
 */
export const SUBSCRIBER_CREDENTIAL_HEADER = "mono-subscriber-credential";

/**
 * What a subscription lives on: the object sends it no event once the
 * credential has ended — past `until`, or when an event it sends would
 * revoke `claims` (shared/revocation/is-token-revoked.ts entryRevokes) —
 * and closes it instead; the subscriber reconnects with a credential that
 * still stands, from its last `seq`.
 */
export interface SubscriberCredential {
  /** What a revocation recorded in this org would cut off (absent: only `until` ends it). */
  claims?: RevocableClaims;
  /** Seconds since the epoch: the token's `exp`, or when a console session must be checked again. */
  until: number;
}

/**
 * The claims a revocation can match (shared/revocation/is-token-revoked.ts).
 * It lives here, beside the events, because Node-side code (the CLI, system
 * tests) reads it and must not pull in the Workers types org-state.ts uses.
 */
export type RevocableClaims = Pick<
  AccessTokenClaims,
  "jti" | "sub" | "client_id" | "org_id" | "iat" | "sid" | "act" | "grant_id" | "grant_chain"
>;
