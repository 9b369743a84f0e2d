import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { TokenVerificationError } from "../../../../shared/jwt/errors.ts";
import type { RevocationReader } from "../revocation/revocation-reader.ts";
import type { SignedToken, VerifiedToken } from "./types.ts";

/**
 * The revocation check of every token a request presented (a subject token
 * and an actor token), against each token's org's Durable Object, the source
 * of truth: one `areRevoked` call per org (revocation/revocation-reader.ts),
 * so an exchange with an actor makes one round trip for both. A revoked
 * token is `invalid_grant` (RFC 6749 §5.2: the grant presented is revoked),
 * naming the first revoked one in the order given. A failed read throws.
 */
export async function requireNotRevoked(
  tokens: readonly SignedToken[],
  revocations: RevocationReader,
  /** The same call's answers for exactly these tokens, started earlier (grants/token-exchange-prefetch.ts). */
  answered?: Promise<readonly boolean[]>,
): Promise<VerifiedToken[]> {
  const revoked = await (answered ?? revocations.areRevoked(tokens.map((token) => token.revocable)));
  // A short answer would leave a token unchecked: refuse it rather than read it as not revoked.
  if (revoked.length !== tokens.length) throw new Error("revocation check answered for the wrong number of tokens");
  const first = tokens.find((_, index) => revoked[index] !== false);
  if (first) {
    throw new OAuthError(
      "invalid_grant",
      `${first.role}: ${new TokenVerificationError("ERR_TOKEN_REVOKED").publicDescription}`,
    );
  }
  return tokens.map((token) => token.unchecked);
}
