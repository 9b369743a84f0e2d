/**
 * The Shared Signals Framework 1.0 transmitter (workers/token/src/ssf/): the
 * event types we emit, the delivery methods, the subject formats, the stream
 * statuses and the wire shapes receivers read. Spelled once; the token
 * Worker, the CLI and the tests import them from here.
 */

/** SSF 1.0 §8.1.1 (push, RFC 8935) and §8.1.2 (poll, RFC 8936) delivery method URNs. */
export const SSF_DELIVERY = {
  push: "urn:ietf:rfc:8935",
  poll: "urn:ietf:rfc:8936",
} as const;

export type SsfDeliveryMethod = (typeof SSF_DELIVERY)[keyof typeof SSF_DELIVERY];

/**
 * Event type URIs. CAEP 1.0 §3 (session-revoked, credential-change), SSF 1.0
 * §8.1.4 (verification, stream-updated), and one private type for a single
 * revoked access token: the OpenID "OAuth Event Types" token-revoked never
 * left draft, and its subject format (`oauth_token`) predates RFC 9493, so
 * ours is named as ours and carries an SSF `jwt_id` subject.
 */
export const SSF_EVENT = {
  sessionRevoked: "https://schemas.openid.net/secevent/caep/event-type/session-revoked",
  credentialChange: "https://schemas.openid.net/secevent/caep/event-type/credential-change",
  tokenRevoked: "urn:mono-auth:secevent:event-type:token-revoked",
  /** Every token a revocation names (a delegation grant's, say); `revocation_kind` says which. */
  tokensRevoked: "urn:mono-auth:secevent:event-type:tokens-revoked",
  verification: "https://schemas.openid.net/secevent/ssf/event-type/verification",
  streamUpdated: "https://schemas.openid.net/secevent/ssf/event-type/stream-updated",
} as const;

export type SsfEventType = (typeof SSF_EVENT)[keyof typeof SSF_EVENT];

/** Every event type a stream may ask for (events_supported). */
export const SSF_EVENTS_SUPPORTED: readonly SsfEventType[] = Object.values(SSF_EVENT);

/**
 * The CAEP credential-change `credential_type` for an OAuth client's
 * credentials (CAEP 1.0 §3.3 allows a type both sides agree on): a client
 * disabled, deleted, rotated or narrowed, after which none of its tokens
 * is honoured.
 */
export const CAEP_CLIENT_CREDENTIAL_TYPE = "oauth-client";

/** SSF 1.0 §8.1.2.1 stream statuses. */
export type SsfStreamStatus = "enabled" | "paused" | "disabled";
export const SSF_STREAM_STATUSES: readonly SsfStreamStatus[] = ["enabled", "paused", "disabled"];

/** SET `typ` (RFC 8417 §2.3). */
export const SET_TYP = "secevent+jwt";

/** RFC 8935 §2 / RFC 8936 §2.4: the media type of one SET on the wire. */
export const SET_MEDIA_TYPE = "application/secevent+jwt";

/**
 * A subject identifier (RFC 9493 §3, SSF 1.0 §3): a `format` and the
 * members that format defines; `complex` (SSF 1.0 §3.2) nests members such
 * as `user`, `session`, `tenant`, `application`.
 */
export type SubjectIdentifier = { format: string } & Record<string, unknown>;

/** SSF 1.0 §8.1.1: a stream's configuration as the management API answers it. */
export interface SsfStreamConfiguration {
  stream_id: string;
  iss: string;
  aud: string | string[];
  events_supported: readonly string[];
  events_requested: string[];
  events_delivered: string[];
  delivery: { method: SsfDeliveryMethod; endpoint_url: string };
  description?: string;
  /** Transmitter-supplied: the fewest seconds between two verification requests (SSF 1.0 §8.1.1). */
  min_verification_interval: number;
}

/** SSF 1.0 §8.1.2: a stream's status. */
export interface SsfStreamStatusBody {
  stream_id: string;
  status: SsfStreamStatus;
  reason?: string;
}

/** RFC 8936 §2.4: a poll answer. */
export interface SsfPollResponse {
  sets: Record<string, string>;
  moreAvailable: boolean;
}

/** How many streams one org may hold. */
export const MAX_SSF_STREAMS_PER_ORG = 10;

/** One SsfTransmitter Durable Object per org (workers/token/src/ssf/transmitter.ts), addressed by name. */
export function ssfTransmitterName(orgId: string): string {
  return `ssf:${orgId}`;
}

/** Paths below ENDPOINT.ssf (SSF 1.0 §7.1's endpoints, RFC 8936's poll endpoint, the org's live stream). */
export const SSF_PATH = {
  streams: "/streams",
  status: "/status",
  addSubject: "/subjects/add",
  removeSubject: "/subjects/remove",
  verify: "/verify",
  /** RFC 8936: `/poll/<stream_id>`, the stream's transmitter-supplied endpoint_url. */
  poll: "/poll",
  /** The org's live revocation stream for its own clients: `/orgs/<org id>/revocations/stream`. */
  orgs: "/orgs",
} as const;
