import { normaliseIssuer } from "../../../shared/config/issuer.ts";
import { absoluteUrlVar, integerVar, secretVar } from "../../../shared/config/vars.ts";
import type { TokenServiceBinding } from "../../../shared/contracts/token-service.ts";

/**
 * The authn Worker's configuration, parsed and checked once per isolate: a
 * bad value fails loudly at the first request (a 500 with the cause in the
 * log), never silently per request.
 */
export interface AuthnConfig {
  /** RFC 8414 §2 issuer identifier, normalised (shared/config/issuer.ts). */
  issuer: string;
  /** The issuer's origin: the one origin pages, cookies and CSRF checks are bound to. */
  origin: string;
  /** The audience the /app page asks a token for (the gateway's API_AUDIENCE). */
  apiAudience: string;
  /** Better Auth's secret: signs cookies; also keys the account hash (limits/account-key.ts). */
  betterAuthSecret: string;
  /** The largest request body any route reads (http/capped-body.ts). */
  maxRequestBodyBytes: number;
  /** Better Auth's `organizationLimit`: organizations a person may create. */
  maxOrganizationsPerUser: number;
  /** Live sessions a person may hold (auth/session-start.ts). */
  maxSessionsPerUser: number;
}

/**
 * The period of both credential limiters in wrangler.toml (`[[ratelimits]]`,
 * `simple.period`): the binding does not report it, and it is the longest a
 * refused client has to wait, so it is the `Retry-After` value.
 */
export const CREDENTIAL_LIMIT_PERIOD_SECONDS = 60;

/** Better Auth's own floor for a secret worth signing with. */
const MIN_SECRET_LENGTH = 32;
/**
 * Better Auth runs the session delete hooks for at most this many sessions
 * of one bulk delete (its adapters' default `findMany` limit), so a person's
 * sessions must stay below it for every ended session to be revoked
 * (auth/session-revocation.ts).
 */
export const BETTER_AUTH_FIND_MANY_LIMIT = 100;

/** The vars and secret this module reads (a test may pass another issuer, so plain strings). */
type ConfigSource = Record<
  | "ISSUER"
  | "API_AUDIENCE"
  | "BETTER_AUTH_SECRET"
  | "MAX_REQUEST_BODY_BYTES"
  | "MAX_ORGANIZATIONS_PER_USER"
  | "MAX_SESSIONS_PER_USER",
  string
>;

export function parseAuthnConfig(env: ConfigSource): AuthnConfig {
  const issuer = normaliseIssuer(env.ISSUER);
  return {
    issuer,
    origin: new URL(issuer).origin,
    apiAudience: absoluteUrlVar("API_AUDIENCE", env.API_AUDIENCE),
    betterAuthSecret: secretVar("BETTER_AUTH_SECRET", env.BETTER_AUTH_SECRET, MIN_SECRET_LENGTH),
    maxRequestBodyBytes: integerVar("MAX_REQUEST_BODY_BYTES", env.MAX_REQUEST_BODY_BYTES, 1024, 1_048_576),
    maxOrganizationsPerUser: integerVar("MAX_ORGANIZATIONS_PER_USER", env.MAX_ORGANIZATIONS_PER_USER, 1, 1000),
    // Kept below Better Auth's bulk-delete limit, with room for sign-ins racing past the cap.
    maxSessionsPerUser: integerVar(
      "MAX_SESSIONS_PER_USER",
      env.MAX_SESSIONS_PER_USER,
      1,
      BETTER_AUTH_FIND_MANY_LIMIT / 2,
    ),
  };
}

// The env object is the same for every request an isolate serves, so this
// parses once; a different env (a test's override) gets its own entry.
const parsed = new WeakMap<ConfigSource, AuthnConfig>();

export function authnConfig(env: ConfigSource): AuthnConfig {
  let config = parsed.get(env);
  if (!config) {
    config = parseAuthnConfig(env);
    parsed.set(env, config);
  }
  return config;
}

/**
 * The token Worker's RPC entrypoint. `wrangler types` sees a plain Fetcher:
 * the token Worker's code is deliberately not part of this Worker's type
 * check (scripts/workers.mjs), so the contract gives the binding its shape.
 */
export function tokenService(env: Pick<AuthnEnv, "TOKEN_SERVICE">): TokenServiceBinding {
  return env.TOKEN_SERVICE as unknown as TokenServiceBinding;
}
