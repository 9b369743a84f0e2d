import { normaliseIssuer } from "../../../shared/config/issuer.ts";
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
  /** Seals the private signing keys at rest (keys/seal.ts); DPoP nonces are keyed from it too (dpop/nonce.ts). */
  keyEncryptionSecret: string;
  /** RFC 9449 §8: whether a DPoP proof at the token endpoint must carry a nonce we issued. */
  dpopNonceRequired: boolean;
  /** How long a key signs before the scheduled rotation replaces it (keys/rotation.ts). */
  signingKeyRotationSeconds: number;
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

type ConfigSource = Pick<
  TokenEnv,
  | "ISSUER"
  | "ACCESS_TOKEN_TTL_SECONDS"
  | "ALLOWED_AUDIENCES"
  | "KEY_ENCRYPTION_SECRET"
  | "DPOP_NONCE_REQUIRED"
  | "SIGNING_KEY_ROTATION_SECONDS"
>;

export function parseTokenConfig(env: ConfigSource): TokenConfig {
  const ttl = Number(env.ACCESS_TOKEN_TTL_SECONDS);
  if (!Number.isInteger(ttl) || ttl < MIN_ACCESS_TOKEN_TTL_SECONDS || ttl > MAX_ACCESS_TOKEN_TTL_SECONDS) {
    throw new Error(
      `ACCESS_TOKEN_TTL_SECONDS must be an integer from ${MIN_ACCESS_TOKEN_TTL_SECONDS} to ${MAX_ACCESS_TOKEN_TTL_SECONDS}`,
    );
  }
  const audiences = (env.ALLOWED_AUDIENCES ?? "").split(/\s+/).filter(Boolean);
  if (audiences.length === 0) throw new Error("ALLOWED_AUDIENCES must name at least one audience");
  const secret = env.KEY_ENCRYPTION_SECRET;
  if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`KEY_ENCRYPTION_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  const nonceRequired = env.DPOP_NONCE_REQUIRED;
  if (nonceRequired !== "true" && nonceRequired !== "false")
    throw new Error('DPOP_NONCE_REQUIRED must be "true" or "false"');
  const rotation = Number(env.SIGNING_KEY_ROTATION_SECONDS);
  if (!Number.isInteger(rotation) || rotation < MIN_ROTATION_SECONDS || rotation > MAX_ROTATION_SECONDS) {
    throw new Error(
      `SIGNING_KEY_ROTATION_SECONDS must be an integer from ${MIN_ROTATION_SECONDS} to ${MAX_ROTATION_SECONDS}`,
    );
  }
  return {
    issuer: normaliseIssuer(env.ISSUER),
    accessTokenTtlSeconds: ttl,
    allowedAudiences: new Set(audiences),
    keyEncryptionSecret: secret,
    dpopNonceRequired: nonceRequired === "true",
    signingKeyRotationSeconds: rotation,
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
