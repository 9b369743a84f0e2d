import { MAX_LIVE_REVOCATIONS_PER_ORG } from "./revocation-recording.ts";
import type { RevocableClaims, RevocationKind, RevocationSnapshot } from "./revocation.ts";

/*
 * What flows out of the org's object: the events its log keeps, the pages
 * and sync answers gateways read, and the messages of its live stream and
 * of gateways' push channels. Re-exported by revocation.ts.
 */

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
