import type { RevocationSnapshot } from "../contracts/revocation.ts";
import type { AccessTokenClaims } from "../contracts/tokens.ts";

/** The claims a revocation can match. */
export type RevocableClaims = Pick<AccessTokenClaims, "jti" | "sub" | "client_id" | "org_id" | "iat" | "sid">;

/**
 * Whether any entry of an org's revocation snapshot (its Durable Object,
 * the source of truth) matches the token: its `jti` or its session, or a
 * subject, client or org cut-off made at or after the token was issued
 * (shared/contracts/revocation.ts). For callers that read one snapshot per
 * token (introspection, revocation); the gateway keeps an indexed view of
 * the same rules (workers/gateway/src/trust/revocation-view.ts).
 */
export function isTokenRevoked(snapshot: RevocationSnapshot, claims: RevocableClaims): boolean {
  return snapshot.entries.some((entry) => {
    switch (entry.kind) {
      case "jti":
        return entry.value === claims.jti;
      case "session":
        return claims.sid !== undefined && entry.value === claims.sid;
      case "subject":
        return entry.value === claims.sub && claims.iat <= entry.revokedAt;
      case "client":
        return entry.value === claims.client_id && claims.iat <= entry.revokedAt;
      case "org":
        return entry.value === claims.org_id && claims.iat <= entry.revokedAt;
      default:
        return false;
    }
  });
}
