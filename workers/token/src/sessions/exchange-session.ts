import { isHeaderSafeIdentifier } from "../../../../shared/contracts/headers.ts";
import { FIRST_PARTY_CLIENT_ID, TOKEN_TYPE } from "../../../../shared/contracts/tokens.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import type { TokenConfig } from "../config.ts";
import type { IssuedToken } from "../grants/types.ts";
import { keyStore } from "../keys/signing-keys.ts";
import { mintAccessToken } from "../mint/mint-access-token.ts";
import { normaliseScope, requireAllowedAudience } from "../tokens/requested-access.ts";
import { bindSession, type SessionRefusal } from "./bind-session.ts";

export interface SessionExchange {
  sessionToken: string;
  audience: string | undefined;
  scope: string | undefined;
}

const REFUSAL: Record<SessionRefusal, string> = {
  unknown_or_expired: "the session is invalid or expired",
  no_active_organization: "the session has no active organization",
  not_a_member: "the user is not a member of the session's organization",
};

/**
 * RFC 8693 exchange of a first-party browser session for an RFC 9068 access
 * token, for the first-party public client. Reached only over the RPC
 * entrypoint (rpc/token-service.ts): the authn Worker reads the session
 * token from the signed cookie on the server, so no page script ever holds
 * a token that mints. The public token endpoint refuses sessions
 * (grants/token-exchange.ts).
 */
export async function exchangeSession(
  env: Pick<TokenEnv, "DB" | "KV">,
  config: TokenConfig,
  request: SessionExchange,
): Promise<IssuedToken> {
  // RFC 8693 §2.2.2: an audience we do not serve is invalid_target; §5.2 of
  // RFC 6749: an unknown scope is invalid_scope. Both before any D1 read.
  const audience = requireAllowedAudience(config, request.audience);
  const scope = normaliseScope(request.scope);
  if (!request.sessionToken) throw new OAuthError("invalid_request", "missing session token");

  // RFC 6749 §5.2: an expired or revoked grant is invalid_grant. The moment
  // before the session is read is the token's `iat` (mint/mint-access-token.ts).
  const authorizedAtMs = Date.now();
  const session = await bindSession(env.DB, request.sessionToken);
  if (typeof session === "string") throw new OAuthError("invalid_grant", REFUSAL[session]);
  // The token's `sub` and `org_id` reach downstream services as X-User-ID and X-Org-ID: Better Auth's ids
  // that are no header value as they stand (RFC 9110 §5.5, shared/contracts/headers.ts) are never signed.
  if (!isHeaderSafeIdentifier(session.userId) || !isHeaderSafeIdentifier(session.orgId)) {
    throw new OAuthError("invalid_grant", "the session's user or organization id is not usable in a token");
  }

  const minted = await mintAccessToken(
    keyStore(env, config),
    config.issuer,
    {
      subject: session.userId,
      audience,
      clientId: FIRST_PARTY_CLIENT_ID,
      orgId: session.orgId,
      scope,
      roles: session.roles,
      sessionId: session.sessionId,
      notAfter: session.expiresAt,
      ttlSeconds: config.accessTokenTtlSeconds,
    },
    authorizedAtMs,
  );
  return { minted, scope, issuedTokenType: TOKEN_TYPE.accessToken };
}
