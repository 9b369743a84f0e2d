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
