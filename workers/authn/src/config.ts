import { isLocalIssuer, normaliseIssuer } from "../../../shared/config/issuer.ts";
import { absoluteUrlVar, integerVar, secretVar } from "../../../shared/config/vars.ts";
import type { TokenServiceBinding } from "../../../shared/contracts/token-service.ts";
import { SSO_UPSTREAM_TIMEOUT_MS } from "./sso/upstream-fetch.ts";

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
  /**
   * Origins whose state-changing requests are accepted (CSRF, and the
   * callbackURL/redirect checks): the issuer's own, then TRUSTED_ORIGINS and
   * CORS_ALLOWED_ORIGINS (security/trusted-origins.ts).
   */
  trustedOrigins: string[];
  /** Origins that may call /api/auth/* from their own pages (CORS); none by default. */
  corsAllowedOrigins: string[];
  /** Sign-in is refused until the address is verified (auth/email-options.ts). */
  requireEmailVerification: boolean;
  mail: MailConfig;
  sessions: SessionLimits;
  /** How long one fetch to an org's SSO IdP may take (sso/upstream-fetch.ts); SSO_UPSTREAM_TIMEOUT_MS at most. */
  ssoUpstreamTimeoutMs: number;
}

/** Where mail goes (email/mail-sender.ts). */
export type MailConfig =
  | { transport: "dev-mailbox"; from: string }
  | { transport: "cloudflare"; from: string }
  | { transport: "http"; from: string; apiUrl: string };

/** Session lifetimes, in seconds (auth/session-limits.ts). */
export interface SessionLimits {
  /** A session unused this long has ended (Better Auth's sliding `expiresIn`). */
  idleTimeoutSeconds: number;
  /** No session outlives this, however busy (clamped on every refresh). */
  absoluteTimeoutSeconds: number;
  /** How long after sign-in a session may change the email, add a passkey, create an API key or delete an org without signing in again. */
  freshAgeSeconds: number;
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
> &
  Partial<
    Record<
      | "TRUSTED_ORIGINS"
      | "CORS_ALLOWED_ORIGINS"
      | "REQUIRE_EMAIL_VERIFICATION"
      | "MAIL_TRANSPORT"
      | "MAIL_FROM"
      | "MAIL_API_URL"
      | "SESSION_IDLE_TIMEOUT_SECONDS"
      | "SESSION_ABSOLUTE_TIMEOUT_SECONDS"
      | "SESSION_FRESH_AGE_SECONDS"
      | "SSO_UPSTREAM_TIMEOUT_MS",
      string
    >
  >;

const DAY = 24 * 60 * 60;

export function parseAuthnConfig(env: ConfigSource): AuthnConfig {
  const issuer = normaliseIssuer(env.ISSUER);
  const cors = originList("CORS_ALLOWED_ORIGINS", env.CORS_ALLOWED_ORIGINS);
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
    trustedOrigins: [new URL(issuer).origin, ...originList("TRUSTED_ORIGINS", env.TRUSTED_ORIGINS), ...cors].filter(
      (origin, i, all) => all.indexOf(origin) === i,
    ),
    corsAllowedOrigins: cors,
    // Secure by default: an unverified address signs in only where an explicit
    // "false" meets a local (plain-http loopback) issuer, so a production
    // deployment that kept the local wrangler.toml value still verifies.
    requireEmailVerification:
      booleanVar("REQUIRE_EMAIL_VERIFICATION", env.REQUIRE_EMAIL_VERIFICATION, true) || !isLocalIssuer(issuer),
    mail: parseMailConfig(env),
    sessions: parseSessionLimits(env),
    // Only ever shorter than the default: a slow IdP must not hold a Worker longer.
    ssoUpstreamTimeoutMs: integerVar(
      "SSO_UPSTREAM_TIMEOUT_MS",
      env.SSO_UPSTREAM_TIMEOUT_MS ?? String(SSO_UPSTREAM_TIMEOUT_MS),
      100,
      SSO_UPSTREAM_TIMEOUT_MS,
    ),
  };
}

function parseSessionLimits(env: ConfigSource): SessionLimits {
  const idle = integerVar(
    "SESSION_IDLE_TIMEOUT_SECONDS",
    env.SESSION_IDLE_TIMEOUT_SECONDS ?? String(7 * DAY),
    300,
    90 * DAY,
  );
  const absolute = integerVar(
    "SESSION_ABSOLUTE_TIMEOUT_SECONDS",
    env.SESSION_ABSOLUTE_TIMEOUT_SECONDS ?? String(30 * DAY),
    300,
    365 * DAY,
  );
  if (absolute < idle)
    throw new Error("SESSION_ABSOLUTE_TIMEOUT_SECONDS must be at least SESSION_IDLE_TIMEOUT_SECONDS");
  return {
    idleTimeoutSeconds: idle,
    absoluteTimeoutSeconds: absolute,
    freshAgeSeconds: integerVar("SESSION_FRESH_AGE_SECONDS", env.SESSION_FRESH_AGE_SECONDS ?? "900", 60, DAY),
  };
}

function parseMailConfig(env: ConfigSource): MailConfig {
  const from = env.MAIL_FROM?.trim();
  if (!from) throw new Error("MAIL_FROM must name the sender, e.g. Mono-Auth <no-reply@id.example.com>");
  switch (env.MAIL_TRANSPORT) {
    case "dev-mailbox":
    case "cloudflare":
      return { transport: env.MAIL_TRANSPORT, from };
    case "http": {
      const apiUrl = absoluteUrlVar("MAIL_API_URL", env.MAIL_API_URL);
      if (!apiUrl.startsWith("https://")) throw new Error("MAIL_API_URL must be https");
      return { transport: "http", from, apiUrl };
    }
    default:
      throw new Error('MAIL_TRANSPORT must be "http" or "cloudflare" (production) or "dev-mailbox" (local only)');
  }
}

/** Space-separated origins (scheme://host[:port]), each written as its own origin. */
function originList(name: string, value: string | undefined): string[] {
  const origins = (value ?? "").split(/\s+/).filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      // refused below
    }
    if (!parsed || parsed.origin !== origin || !/^https?:$/.test(parsed.protocol)) {
      throw new Error(`${name} must be space-separated origins like https://app.example.com (got ${origin})`);
    }
  }
  return origins;
}

function booleanVar(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === "") return fallback;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new Error(`${name} must be "true" or "false"`);
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
