import { MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../../shared/contracts/tokens.ts";

/** The token Worker's settings, parsed and checked once per isolate. */
export interface TokenSettings {
  issuer: string;
  accessTokenTtlSeconds: number;
  allowedAudiences: ReadonlySet<string>;
}

let parsed: TokenSettings | undefined;

export function tokenSettings(
  env: Pick<TokenEnv, "ISSUER" | "ACCESS_TOKEN_TTL_SECONDS" | "ALLOWED_AUDIENCES">,
): TokenSettings {
  if (parsed) return parsed;
  const issuer = new URL(env.ISSUER);
  if (issuer.protocol !== "https:" && issuer.protocol !== "http:") throw new Error("ISSUER must be an http(s) URL");
  const ttl = Number(env.ACCESS_TOKEN_TTL_SECONDS);
  if (!Number.isInteger(ttl) || ttl < 30 || ttl > MAX_ACCESS_TOKEN_TTL_SECONDS) {
    throw new Error(`ACCESS_TOKEN_TTL_SECONDS must be an integer from 30 to ${MAX_ACCESS_TOKEN_TTL_SECONDS}`);
  }
  parsed = {
    // RFC 8414 §2: the issuer identifier has no trailing slash or query.
    issuer: env.ISSUER.replace(/\/+$/, ""),
    accessTokenTtlSeconds: ttl,
    allowedAudiences: new Set(env.ALLOWED_AUDIENCES.split(/\s+/).filter(Boolean)),
  };
  return parsed;
}
