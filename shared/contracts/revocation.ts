/**
 * Revocation events (DESIGN, "Revocation"). A token is revoked when any of
 * these matches it; subject, client and org revocations cut off every token
 * issued at or before the revocation.
 */
export type RevocationKind = "jti" | "session" | "subject" | "client" | "org";

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
