import { compactVerify, decodeProtectedHeader } from "jose";
import { adminAudience } from "../../../../shared/contracts/endpoints.ts";
import { type AccessTokenClaims, SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import { TokenVerificationError } from "../../../../shared/jwt/errors.ts";
import { verifyAccessToken } from "../../../../shared/jwt/verify-access-token.ts";
import type { TokenConfig } from "../config.ts";
import { databaseKeyResolver } from "../keys/database-key-resolver.ts";

/**
 * What a token presented to the revocation or introspection endpoint is to
 * us: one of our live access tokens (whatever audience we minted it for), a
 * JWT we signed that is not an access token (an ID-JAG, a host invite: a
 * type we do not revoke, RFC 7009 §2.2.1), or anything else — malformed,
 * forged, expired, signed by a retired key, or not ours at all.
 */
export type PresentedToken =
  | { kind: "access_token"; claims: AccessTokenClaims }
  | { kind: "other_type"; typ: string }
  | { kind: "unknown" };

export interface PresentedTokenContext {
  env: Pick<TokenEnv, "DB">;
  config: TokenConfig;
}

/**
 * Verifies a presented token as the gateway would (shared/jwt/
 * verify-access-token.ts), against the keys D1 holds now, for any audience
 * this issuer mints for. Never throws for the token's own faults.
 */
export async function readPresentedToken(token: string, context: PresentedTokenContext): Promise<PresentedToken> {
  const { config } = context;
  const resolveKey = databaseKeyResolver(context.env.DB);
  try {
    const claims = await verifyAccessToken(token, {
      issuer: config.issuer,
      audience: [...config.allowedAudiences, adminAudience(config.issuer)],
      resolveKey,
    });
    return { kind: "access_token", claims };
  } catch (error) {
    if (!(error instanceof TokenVerificationError)) throw error;
    if (error.code !== "ERR_TOKEN_TYP") return { kind: "unknown" };
  }
  // Another `typ`: ours only if one of our live keys signed it.
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== SIGNING_ALG || typeof header.kid !== "string" || typeof header.typ !== "string") {
      return { kind: "unknown" };
    }
    const key = await resolveKey(header.kid);
    if (!key) return { kind: "unknown" };
    await compactVerify(token, key, { algorithms: [SIGNING_ALG] });
    return { kind: "other_type", typ: header.typ };
  } catch {
    return { kind: "unknown" };
  }
}
