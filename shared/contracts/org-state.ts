import type {
  BrowserGrantRevocation,
  BrowserGrantRevocationOutcome,
  RevocationChanges,
  RevocationEvent,
  RevocationSnapshot,
  RevocationSync,
  SubjectRevocationsOutcome,
  TokenRevocation,
  TokenRevocationOutcome,
} from "./revocation.ts";
import type { RevocableClaims } from "./revocation.ts";

export type { RevocableClaims } from "./revocation.ts";

/**
 * The RPC surface of the per-org Durable Object (workers/org-state): what
 * every other Worker may call on `ORG_STATE.getByName(orgStateName(orgId))`.
 * Shared code asks for this interface, never for the class, so no Worker's
 * type check depends on the org-state Worker's code.
 */
export interface OrgStateRpc {
  /**
   * Records a revocation and returns the org's new revocation version.
   * Resolves only once the entry is durably stored; throws otherwise.
   * `jtiExpiresAt`: a jti entry's token's `exp` (an integer ≥ 0, else a
   * RangeError). `slackSeconds` (only for
   * kind `grant`, an integer 0..MAX_REVOCATION_SLACK_SECONDS, else a
   * RangeError): the entry lives that much longer than the longest token
   * lifetime from now, and its log event says so (`expires_at`).
   */
  revoke(event: RevocationEvent, jtiExpiresAt?: number, slackSeconds?: number): Promise<number>;
  /**
   * Records the `subject` cut-offs of up to MAX_SUBJECT_REVOCATIONS_PER_CALL
   * people of this org in one transaction, each as `revoke` records one
   * (its own version and log event, in the order given), and answers each
   * person's outcome: `refused` for a value the object does not take,
   * without keeping the others from being recorded. Throws, recording
   * nothing, for another org, another kind or too many events.
   */
  revokeSubjects(events: readonly RevocationEvent[]): Promise<SubjectRevocationsOutcome>;
  /**
   * Records an RFC 7009 revocation of one access token, attributed to the
   * token's client, and folds that client's live jti entries into one
   * `client` cut-off when they would pass MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT
   * (or the org's pass MAX_LIVE_REVOCATIONS_PER_ORG), in one transaction.
   * Resolves only once stored (or already covered); throws otherwise.
   */
  revokeToken(revocation: TokenRevocation): Promise<TokenRevocationOutcome>;
  /**
   * Records the `grant` revocation of a browser authorization (RFC 7009
   * §2.1), attributed to its client and person, and folds that person's
   * browser-grant entries for that client into one `client_subject` cut-off
   * of the person at that client when their grants to it would pass
   * MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON, in one transaction.
   * Resolves only once stored; throws otherwise.
   */
  revokeBrowserGrant(revocation: BrowserGrantRevocation): Promise<BrowserGrantRevocationOutcome>;
  /**
   * The live revocations and the current policy version, for gateways to
   * cache within their staleness bound.
   */
  snapshot(orgId: string): Promise<RevocationSnapshot>;
  /**
   * The revocations recorded after version `after`, one bounded page, or an
   * explicit "resync from snapshot" when they are no longer all in the log.
   */
  changesSince(after: number): Promise<RevocationChanges>;
  /**
   * What a gateway reads to bring its view from version `after` (null: it
   * has none) up to date, with the policy version: the changes since, or the
   * whole snapshot when the log cannot serve them (RevocationSync).
   */
  sync(orgId: string, after: number | null): Promise<RevocationSync>;
  /**
   * Whether a live entry matches the token, by the rules of
   * shared/revocation/is-token-revoked.ts, looked up by key in the object's
   * storage: for callers that check one token against the source of truth
   * (the token Worker), at the same cost with 0 or 100 000 entries.
   */
  isRevoked(claims: RevocableClaims): Promise<boolean>;
  /**
   * isRevoked for several tokens of this org in one call, answers in the
   * same order (the token Worker's exchange checks its subject and actor
   * tokens with one round trip).
   */
  areRevoked(claims: readonly RevocableClaims[]): Promise<boolean[]>;
  /**
   * Makes `version` the org's current policy version (publish or rollback)
   * and answers with it and the org's publish counter, which grows by one
   * with every call: of two calls, the one with the higher `sequence` took
   * effect last. Resolves only once durably stored; throws otherwise.
   */
  setPolicyVersion(version: number): Promise<PolicyPublication>;
  /** The current policy version (null: none published) and the publish counter. */
  policyPublication(): Promise<PolicyPublication>;
}

export interface PolicyPublication {
  /** null until the org publishes a version. */
  version: number | null;
  /** 0 until the first publish; then +1 per setPolicyVersion. */
  sequence: number;
}

/** The binding as shared code needs it. */
export type OrgStateNamespace = DurableObjectNamespace<OrgStateRpc & Rpc.DurableObjectBranded>;
