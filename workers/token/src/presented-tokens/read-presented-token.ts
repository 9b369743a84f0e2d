import { compactVerify, decodeJwt, decodeProtectedHeader } from "jose";
import { adminAudience } from "../../../../shared/contracts/endpoints.ts";
import { isMcpResource } from "../../../../shared/contracts/mcp.ts";
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
 * this issuer mints for (servedAudiences). Never throws for the token's own
 * faults.
 */
export async function readPresentedToken(token: string, context: PresentedTokenContext): Promise<PresentedToken> {
  const { config } = context;
  const resolveKey = databaseKeyResolver(context.env.DB);
  try {
    const claims = await verifyAccessToken(token, {
      issuer: config.issuer,
      audience: servedAudiences(token, config),
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

/**
 * Every audience this issuer mints for that the token names: the configured
 * ones, the admin API's, and any registered MCP server's (`<issuer>/mcp/<name>`,
 * clients/guardrails.ts). The MCP ones live in D1 per org and change without
 * a deploy, so they are recognised by shape (isMcpResource) rather than
 * listed: the signature by one of our keys, the `typ` and the `iss` that
 * verifyAccessToken still checks already prove we minted the token. It is
 * not checked against the org's registry either: a server disabled now and
 * enabled again within the token's life is fronted by the gateway again, so
 * the token must stay revocable meanwhile. Leaving them out made RFC 7009 revocation record nothing for
 * an MCP token the gateway kept honouring, and RFC 7662 call it inactive.
 * The names read here are unverified; they only widen the list the
 * verified `aud` is checked against, and only with MCP resources of ours.
 */
function servedAudiences(token: string, config: TokenConfig): string[] {
  const served = [...config.allowedAudiences, adminAudience(config.issuer)];
  let aud: unknown;
  try {
    aud = decodeJwt(token).aud;
  } catch {
    // Malformed: verifyAccessToken says so with its own code.
    return served;
  }
  const named = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
  for (const value of named) {
    if (typeof value === "string" && isMcpResource(config.issuer, value)) served.push(value);
  }
  return served;
}
