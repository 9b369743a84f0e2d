import type { RevocableClaims } from "./revocation.ts";

/*
 * What the org's object's recording calls take and answer (OrgState.revoke,
 * revokeSubjects, revokeToken, revokeBrowserGrant: shared/contracts/org-state.ts)
 * and the bounds on what it keeps. Re-exported by revocation.ts.
 */

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
 * folded into its token's client's cut-off. Nothing is refused at it: a
 * refused revocation would leave a token honoured, and a fold needs no more
 * room. The kinds that cannot fold stop at MAX_REVOCATION_ENTRIES_PER_ORG.
 * 100,000 is what the gateway's view is sized and measured for (docs/revocation.md).
 */
export const MAX_LIVE_REVOCATIONS_PER_ORG = 100_000;

/**
 * The most entries of every kind an org's object holds: a recording that
 * would add one more is refused (RevocationCapacityError,
 * ERR_ORG_STATE_REVOCATIONS_FULL), recording nothing, and its producer
 * answers 503 as for any recording that failed. The kinds other than RFC
 * 7009's have no fold: a person's sessions, members' cut-offs, clients and
 * grants each live an hour, and nothing but the people and admins making
 * them bounded how many, so a script signing in and out, or a bug, grew the
 * object's table, its snapshot and every gateway's view without limit.
 * Above MAX_LIVE_REVOCATIONS_PER_ORG, so RFC 7009 keeps folding between the
 * two (a fold adds at most its client's cut-off and drops the entries it
 * covers: refused only when it drops none), and 20% above what the gateway's view is
 * measured for. A recording that adds no row (a cut-off moved forward) is
 * never refused: it is what ends the tokens issued since.
 */
export const MAX_REVOCATION_ENTRIES_PER_ORG = 120_000;

/**
 * The most bytes an org's entries may take in its snapshot (an upper bound
 * the object keeps as it writes: workers/org-state/src/revocation-capacity.ts),
 * past which a recording that adds to them is refused like one past
 * MAX_REVOCATION_ENTRIES_PER_ORG. A gateway reads the whole snapshot in one
 * RPC answer (OrgState.sync), and Workers RPC refuses a value over 32 MiB:
 * at the entry cap alone, values, clients and people of 256 characters
 * outside Latin-1 (two bytes each) made a snapshot of ~195 MB, so every
 * gateway isolate of the org without a view failed closed. 24 MiB keeps a
 * quarter of the limit spare, and the KV mirror's JSON of ASCII ids (ours)
 * under KV's 25 MiB value limit. An org of RFC 7009 entries (a UUID and a
 * client id each) reaches the entry cap first; one of browser grant
 * entries (three ids each) this, at ~107,000.
 */
export const MAX_REVOCATION_SNAPSHOT_BYTES = 24 * 1024 * 1024;

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
