/**
 * The gateway's settings, parsed and checked once per isolate (a bad value
 * fails loudly at the first request, not silently per request).
 */
export interface GatewayConfig {
  issuer: string;
  audience: string;
  revocationMaxStalenessMs: number;
  jwksRefetchCooldownMs: number;
}

type ConfigVars = Pick<
  GatewayEnv,
  "ISSUER" | "API_AUDIENCE" | "REVOCATION_MAX_STALENESS_MS" | "JWKS_REFETCH_COOLDOWN_MS"
>;

export function parseGatewayConfig(vars: ConfigVars): GatewayConfig {
  return {
    issuer: absoluteUrl("ISSUER", vars.ISSUER),
    audience: absoluteUrl("API_AUDIENCE", vars.API_AUDIENCE),
    revocationMaxStalenessMs: milliseconds("REVOCATION_MAX_STALENESS_MS", vars.REVOCATION_MAX_STALENESS_MS, 60_000),
    jwksRefetchCooldownMs: milliseconds("JWKS_REFETCH_COOLDOWN_MS", vars.JWKS_REFETCH_COOLDOWN_MS, 3_600_000),
  };
}

function absoluteUrl(name: string, value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === "https:" || url.protocol === "http:") return value;
  } catch {
    // fall through
  }
  throw new Error(`${name} must be an absolute http(s) URL`);
}

function milliseconds(name: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${name} must be an integer from 0 to ${max}`);
  return n;
}
