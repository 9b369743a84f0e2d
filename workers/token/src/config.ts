import { normaliseIssuer } from "../../../shared/config/issuer.ts";
import { integerVar, secretVar } from "../../../shared/config/vars.ts";
import { MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../../shared/contracts/tokens.ts";

/**
 * The token Worker's configuration, parsed and checked once per isolate: a
 * bad value fails loudly at the first request (a 500 with the cause in the
 * log), never silently per request.
 */
export interface TokenConfig {
  /** RFC 8414 §2 issuer identifier, normalised (shared/config/issuer.ts). */
  issuer: string;
  accessTokenTtlSeconds: number;
  /** RFC 8693 §2.1 `audience` values a token may be minted for. */
  allowedAudiences: ReadonlySet<string>;
  /**
   * The first of ALLOWED_AUDIENCES (the API's audience): what a host invite
   * grants when the operator names no audiences. Never all of them: a client
   * holding several audiences must name one with `resource` at every
   * client_credentials request (RFC 8707 §2, clients/guardrails.ts), so
   * adding an audience to the issuer (an MCP server, say) must not widen —
   * and break — clients created without a choice.
   */
  defaultAudience: string;
  /** Seals the private signing keys at rest (keys/seal.ts); DPoP nonces are keyed from it too (dpop/nonce.ts). */
  keyEncryptionSecret: string;
  /** RFC 9449 §8: whether a DPoP proof at the token endpoint must carry a nonce we issued. */
  dpopNonceRequired: boolean;
  /** How long a key signs before the scheduled rotation replaces it (keys/rotation.ts). */
  signingKeyRotationSeconds: number;
  /** The wait before an access webhook's second attempt, doubled for each after (mcp/webhook-delivery.ts). */
  accessWebhookRetryBaseSeconds: number;
}

/** Shortest lifetime worth issuing: below it a client re-mints on almost every call. */
const MIN_ACCESS_TOKEN_TTL_SECONDS = 30;
/** HKDF input for the sealing key: at least 256 bits when the secret is random text. */
const MIN_SECRET_LENGTH = 32;
/**
 * Rotation period bounds: at least a day (a key's retirement window outlasts
 * the longest token it signs, so faster rotation only piles up keys in the
 * JWKS), at most a year.
 */
const MIN_ROTATION_SECONDS = 86_400;
const MAX_ROTATION_SECONDS = 366 * 86_400;

/** The vars and secret this module reads, as strings: the generated types carry the local values, a deployment has its own. */
type ConfigSource = Record<
  | "ISSUER"
  | "ACCESS_TOKEN_TTL_SECONDS"
  | "ALLOWED_AUDIENCES"
  | "KEY_ENCRYPTION_SECRET"
  | "DPOP_NONCE_REQUIRED"
  | "SIGNING_KEY_ROTATION_SECONDS"
  | "ACCESS_WEBHOOK_RETRY_BASE_SECONDS",
  string
>;

export function parseTokenConfig(env: ConfigSource): TokenConfig {
  const audiences = (env.ALLOWED_AUDIENCES ?? "").split(/\s+/).filter(Boolean);
  if (audiences.length === 0) throw new Error("ALLOWED_AUDIENCES must name at least one audience");
  const nonceRequired = env.DPOP_NONCE_REQUIRED;
  if (nonceRequired !== "true" && nonceRequired !== "false")
    throw new Error('DPOP_NONCE_REQUIRED must be "true" or "false"');
  return {
    issuer: normaliseIssuer(env.ISSUER),
    accessTokenTtlSeconds: integerVar(
      "ACCESS_TOKEN_TTL_SECONDS",
      env.ACCESS_TOKEN_TTL_SECONDS,
      MIN_ACCESS_TOKEN_TTL_SECONDS,
      MAX_ACCESS_TOKEN_TTL_SECONDS,
    ),
    allowedAudiences: new Set(audiences),
    defaultAudience: audiences[0] as string,
    keyEncryptionSecret: secretVar("KEY_ENCRYPTION_SECRET", env.KEY_ENCRYPTION_SECRET, MIN_SECRET_LENGTH),
    dpopNonceRequired: nonceRequired === "true",
    signingKeyRotationSeconds: integerVar(
      "SIGNING_KEY_ROTATION_SECONDS",
      env.SIGNING_KEY_ROTATION_SECONDS,
      MIN_ROTATION_SECONDS,
      MAX_ROTATION_SECONDS,
    ),
    // 0 lets a test's queue retry at once; an hour is the longest a receiver should wait for the second try.
    accessWebhookRetryBaseSeconds: integerVar(
      "ACCESS_WEBHOOK_RETRY_BASE_SECONDS",
      env.ACCESS_WEBHOOK_RETRY_BASE_SECONDS,
      0,
      3600,
    ),
  };
}

// The env object is the same for every request an isolate serves, so this
// parses once; a different env (another entrypoint's) gets its own entry.
const parsed = new WeakMap<ConfigSource, TokenConfig>();

export function tokenConfig(env: ConfigSource): TokenConfig {
  let config = parsed.get(env);
  if (!config) {
    config = parseTokenConfig(env);
    parsed.set(env, config);
  }
  return config;
}
