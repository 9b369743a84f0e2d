import type { AccessTokenClaims } from "../../shared/contracts/tokens.ts";

/**
 * The claims a revocation view checks, for a token of `orgId` issued now and
 * living `lifetimeSeconds` (a fresh `jti` each time); `overrides` sets any claim.
 */
export function viewToken(
  orgId: string,
  overrides: Partial<AccessTokenClaims> = {},
  lifetimeSeconds = 60,
): AccessTokenClaims {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: "i",
    aud: "a",
    sub: "u",
    exp: now + lifetimeSeconds,
    iat: now,
    jti: crypto.randomUUID(),
    client_id: "c",
    org_id: orgId,
    ...overrides,
  };
}
