import { normaliseIssuer } from "../../../shared/config/issuer.ts";
import { absoluteUrlVar, integerVar, secretVar } from "../../../shared/config/vars.ts";
import type { TokenServiceBinding } from "../../../shared/contracts/token-service.ts";
import { MIN_GATEWAY_ASSERTION_SECRET_LENGTH } from "../../../shared/gateway-assertion/signing-key.ts";

/**
 * The gateway's settings, parsed and checked once per isolate (a bad value
 * fails loudly at the first request, not silently per request).
 */
export interface GatewayConfig {
  /** Normalised (shared/config/issuer.ts): `https://id.example.com/` is `https://id.example.com`. */
  issuer: string;
  audience: string;
  revocationMaxStalenessMs: number;
  /** How old a view may be served while the org's object is unreachable; then 503 (trust/revocation-view.ts). */
  revocationHardLimitMs: number;
  revocationViewMaxOrgs: number;
  /** Whether isolates hold a push channel from each org's object (trust/revocation-channel.ts). */
  revocationPush: boolean;
  jwksRefetchCooldownMs: number;
  /** The secret the assertion key is derived from (shared/gateway-assertion/signing-key.ts). */
  assertionSecret: string;
}

/** The vars as strings: the generated types carry the local values, a deployment has its own. */
type ConfigVars = Record<
  | "ISSUER"
  | "API_AUDIENCE"
  | "REVOCATION_MAX_STALENESS_MS"
  | "REVOCATION_HARD_LIMIT_MS"
  | "REVOCATION_VIEW_MAX_ORGS"
  | "REVOCATION_PUSH"
  | "JWKS_REFETCH_COOLDOWN_MS"
  | "GATEWAY_ASSERTION_KEY",
  string
>;

export function parseGatewayConfig(vars: ConfigVars): GatewayConfig {
  const revocationMaxStalenessMs = integerVar(
    "REVOCATION_MAX_STALENESS_MS",
    vars.REVOCATION_MAX_STALENESS_MS,
    0,
    60_000,
  );
  return {
    issuer: normaliseIssuer(vars.ISSUER),
    audience: absoluteUrlVar("API_AUDIENCE", vars.API_AUDIENCE),
    revocationMaxStalenessMs,
    // Below the staleness bound it would fail closed before a view is even due a refresh.
    revocationHardLimitMs: integerVar(
      "REVOCATION_HARD_LIMIT_MS",
      vars.REVOCATION_HARD_LIMIT_MS,
      revocationMaxStalenessMs,
      3_600_000,
    ),
    revocationViewMaxOrgs: integerVar("REVOCATION_VIEW_MAX_ORGS", vars.REVOCATION_VIEW_MAX_ORGS, 1, 1_000_000),
    revocationPush: switchVar("REVOCATION_PUSH", vars.REVOCATION_PUSH),
    jwksRefetchCooldownMs: integerVar("JWKS_REFETCH_COOLDOWN_MS", vars.JWKS_REFETCH_COOLDOWN_MS, 0, 3_600_000),
    assertionSecret: secretVar(
      "GATEWAY_ASSERTION_KEY",
      vars.GATEWAY_ASSERTION_KEY,
      MIN_GATEWAY_ASSERTION_SECRET_LENGTH,
    ),
  };
}

/**
 * The token Worker's RPC entrypoint. `wrangler types` sees a plain Fetcher:
 * the token Worker's code is deliberately not part of this Worker's type
 * check (scripts/workers.mjs), so the contract gives the binding its shape.
 */
export function tokenService(env: Pick<GatewayEnv, "TOKEN_SERVICE">): TokenServiceBinding {
  return env.TOKEN_SERVICE as unknown as TokenServiceBinding;
}

/** "on" or "off"; anything else fails loudly. */
function switchVar(name: string, value: string | undefined): boolean {
  if (value === "on") return true;
  if (value === "off") return false;
  throw new Error(`${name} must be "on" or "off"`);
}
