/**
 * When each browser grant reached the provider (oidc/grant-entrypoint.ts),
 * before Better Auth read anything that allows the token (the code or
 * refresh token, the membership in oidc/org-claim.ts): the `iat` the issuer
 * stamps on the access token (oidc/issuer-signer.ts), as the token Worker
 * stamps its own (workers/token/src/mint/mint-access-token.ts explains why).
 * Keyed by the request Better Auth handles, which its endpoint context
 * carries to the signer; nothing outlives the request.
 */
const started = new WeakMap<Request, number>();

export function markGrantStart(request: Request, receivedAtMs: number): void {
  started.set(request, receivedAtMs);
}

export function grantStartOf(request: Request | undefined): number | undefined {
  return request ? started.get(request) : undefined;
}

/**
 * The claims with `iat` moved back to the grant's start (never forward) and
 * `exp` by as much, so the token lives as long as Better Auth gave it.
 */
export function stampedAtGrantStart<C extends { iat?: unknown; exp?: unknown }>(claims: C, receivedAtMs: number): C {
  const { iat, exp } = claims;
  if (typeof iat !== "number" || typeof exp !== "number") return claims;
  const shift = iat - Math.floor(receivedAtMs / 1000);
  return shift > 0 ? { ...claims, iat: iat - shift, exp: exp - shift } : claims;
}
