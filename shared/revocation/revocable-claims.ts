import type { RevocableClaims } from "../contracts/revocation.ts";

/**
 * Every claim a revocation can match (RevocableClaims), named once: the
 * `satisfies` makes a claim added to that type fail to compile until it is
 * listed here, so no caller's copy can leave one behind — a claim left out
 * is a revocation the org's object never sees (a token exchanged from a
 * revoked one passed userinfo while its `derived_from` stayed behind).
 */
const REVOCABLE_CLAIM_NAMES = {
  jti: true,
  sub: true,
  client_id: true,
  org_id: true,
  iat: true,
  sid: true,
  act: true,
  grant_id: true,
  grant_chain: true,
  grant_chain_clients: true,
  derived_from: true,
} as const satisfies Record<keyof RevocableClaims, true>;

const NAMES = Object.keys(REVOCABLE_CLAIM_NAMES) as (keyof RevocableClaims)[];

/**
 * Only the claims a revocation can match, and nothing else of the token,
 * cross to the org's object: for a check (the token Worker's introspection
 * and revocation endpoint, the authn Worker's userinfo) and kept with a live
 * subscription (the token Worker's revocation stream and SSF). Absent claims
 * stay absent (RPC would carry an `undefined` as a key).
 */
export function revocableClaims(claims: RevocableClaims): RevocableClaims {
  const picked: Record<string, unknown> = {};
  for (const name of NAMES) {
    const value = claims[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked as RevocableClaims;
}
