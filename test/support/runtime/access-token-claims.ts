import { FIRST_PARTY_CLIENT_ID } from "../../../shared/contracts/tokens.ts";

/** A valid access-token claim set for tests, issued now, to override per case. */
export function accessTokenClaims(issuer: string, audience: string, overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer,
    sub: "user-1",
    aud: audience,
    iat: now,
    exp: now + 300,
    jti: crypto.randomUUID(),
    client_id: FIRST_PARTY_CLIENT_ID,
    org_id: "org-1",
    scope: "documents:read",
    ...overrides,
  };
}
