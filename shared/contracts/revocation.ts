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

export interface RevocationSnapshot {
  orgId: string;
  /** Increases with every recorded revocation. */
  version: number;
  entries: RevocationEntry[];
}
