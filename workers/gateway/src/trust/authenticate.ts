import { isHeaderSafeIdentifier } from "../../../../shared/contracts/headers.ts";
import type { AccessTokenClaims } from "../../../../shared/contracts/tokens.ts";
import type { BearerChallenge } from "../../../../shared/errors/bearer.ts";
import { TokenVerificationError } from "../../../../shared/jwt/errors.ts";
import { verifyAccessToken } from "../../../../shared/jwt/verify-access-token.ts";
import { extractBearerToken, type TokenScheme } from "./bearer-token.ts";
import { checkDpopBinding, DPOP_CHALLENGE_ALGS } from "./dpop-binding.ts";
import type { DpopReplayCache } from "./dpop-replay-cache.ts";
import type { JwksCache } from "./jwks-cache.ts";
import type { RevocationView } from "./revocation-view.ts";
import type { VerifiedTokenCache } from "./verified-token-cache.ts";

export interface AuthenticateDeps {
  issuer: string;
  /** The public origin: DPoP proofs sign `htu` against it. */
  origin: string;
  jwks: JwksCache;
  revocations: RevocationView;
  dpopReplays: DpopReplayCache;
  /** Tokens this isolate has verified (verified-token-cache.ts). */
  verifiedTokens: VerifiedTokenCache;
  /** Lets the revocation view keep its push channel open past this request (trust/revocation-channel.ts). */
  waitUntil?: (promise: Promise<unknown>) => void;
}

export type Authentication =
  | {
      ok: true;
      claims: AccessTokenClaims;
      scheme: TokenScheme;
      /** Revocation was decided on the last view held, however old (a `last-known` route while the state was unavailable). */
      revocationLastKnown?: true;
    }
  | {
      ok: false;
      /** The RFC 6750 / RFC 9449 challenge, without the route's own parameters (realm, resource_metadata). */
      challenge: Omit<BearerChallenge, "realm">;
      /** Verified claims when the token itself verified (a DPoP or revocation refusal). */
      claims?: AccessTokenClaims;
      /** The stable code for the audit record. */
      code: string;
    }
  | { ok: false; unavailable: true; claims: AccessTokenClaims };

/**
 * Who is calling, checked in the order that costs an attacker most and us
 * least: the credential's syntax (RFC 6750 §2.1; a query token refused), the
 * JWT (alg, typ, iss, this route's `aud`, exp/nbf/iat within the shared
 * tolerance, lifetime, claim shapes: shared/jwt/verify-access-token.ts), the
 * DPoP binding (RFC 9449 §7), then revocation within the staleness bound
 * (fail closed when no view can be had, unless the route says `last-known`:
 * routing/route-table.ts `whenRevocationUnavailable`).
 */
export async function authenticate(
  request: Request,
  url: URL,
  audience: string,
  deps: AuthenticateDeps,
  options: { whenRevocationUnavailable?: "fail-closed" | "last-known" } = {},
): Promise<Authentication> {
  const extracted = extractBearerToken(request.headers, url);
  if (extracted.kind === "absent") return { ok: false, challenge: {}, code: "no_token" };
  if (extracted.kind === "other-scheme") return { ok: false, challenge: {}, code: "unsupported_scheme" };
  if (extracted.kind === "malformed") {
    return {
      ok: false,
      challenge: { error: "invalid_request", description: extracted.description },
      code: "invalid_request",
    };
  }

  let claims = await deps.verifiedTokens.get(extracted.token, audience, deps.jwks.resolve);
  if (!claims) {
    let used: { kid: string; key: CryptoKey } | undefined;
    const resolveKey = async (kid: string) => {
      const key = await deps.jwks.resolve(kid);
      if (key) used = { kid, key };
      return key;
    };
    try {
      claims = await verifyAccessToken(extracted.token, { issuer: deps.issuer, audience, resolveKey });
    } catch (error) {
      if (!(error instanceof TokenVerificationError)) throw error;
      return {
        ok: false,
        challenge: { scheme: extracted.scheme, error: "invalid_token", description: error.publicDescription },
        code: error.code,
      };
    }
    // Checked before the token is remembered, so every cached token has passed it too.
    if (!headerSafe(claims)) {
      const error = new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", "not a header value");
      return {
        ok: false,
        challenge: { scheme: extracted.scheme, error: "invalid_token", description: error.publicDescription },
        code: error.code,
      };
    }
    if (used) deps.verifiedTokens.remember(extracted.token, audience, claims, used.kid, used.key);
  }

  const dpopRefusal = await checkDpopBinding(
    { request, url, scheme: extracted.scheme, token: extracted.token, claims },
    { origin: deps.origin, replays: deps.dpopReplays },
  );
  if (dpopRefusal) {
    return {
      ok: false,
      challenge: {
        scheme: "DPoP",
        error: dpopRefusal.protocolError,
        description: dpopRefusal.publicDescription,
        algs: DPOP_CHALLENGE_ALGS,
      },
      claims,
      code: dpopRefusal.code,
    };
  }

  let revoked: boolean;
  let lastKnown = false;
  try {
    revoked = await deps.revocations.isRevoked(claims, { waitUntil: deps.waitUntil });
  } catch (error) {
    console.error("revocation state unavailable", error);
    // Fail closed: without a view of revocations no newer than the bound,
    // the gateway cannot vouch for the token — unless the route chose
    // availability, and then what this isolate last knew still refuses.
    if (options.whenRevocationUnavailable !== "last-known") return { ok: false, unavailable: true, claims };
    revoked = deps.revocations.isRevokedLastKnown(claims);
    lastKnown = true;
  }
  if (revoked) {
    const error = new TokenVerificationError("ERR_TOKEN_REVOKED");
    return {
      ok: false,
      challenge: { scheme: extracted.scheme, error: "invalid_token", description: error.publicDescription },
      claims,
      code: error.code,
    };
  }
  return { ok: true, claims, scheme: extracted.scheme, ...(lastKnown ? { revocationLastKnown: true as const } : {}) };
}

/**
 * The claims handed on as X-User-ID, X-Org-ID and X-Actor-ID must each be a
 * header value as it stands (RFC 9110 §5.5; why: shared/contracts/headers.ts).
 */
function headerSafe(claims: AccessTokenClaims): boolean {
  return (
    isHeaderSafeIdentifier(claims.sub) &&
    isHeaderSafeIdentifier(claims.org_id) &&
    (claims.act === undefined || isHeaderSafeIdentifier(claims.act.sub))
  );
}
