import { FIRST_PARTY_CLIENT_ID, GRANT_TYPE, TOKEN_TYPE } from "../../../../shared/contracts/tokens.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { mintAccessToken, type MintedAccessToken } from "../mint/mint-access-token.ts";
import { requireParam } from "../http/read-form.ts";
import { resolveSession } from "../sessions/resolve-session.ts";
import type { TokenSettings } from "../settings.ts";

/** Scopes a session may be exchanged for, for now. */
export const SUPPORTED_SCOPES: ReadonlySet<string> = new Set(["documents:read"]);
const DEFAULT_SCOPE = "documents:read";

export interface ExchangeResult {
  minted: MintedAccessToken;
  scope: string;
}

/**
 * RFC 8693 token exchange of a Better Auth browser session for an RFC 9068
 * access token. The session token is the subject; the first-party public
 * client is the only client allowed to present one (a browser cannot hold a
 * client secret, and a session token is itself the proof of the person).
 */
export async function exchangeSessionForAccessToken(
  env: Pick<TokenEnv, "DB" | "KV" | "KEY_ENCRYPTION_SECRET">,
  settings: TokenSettings,
  params: Map<string, string>,
): Promise<ExchangeResult> {
  // RFC 8693 §2.1: client authentication is per the AS's policy; ours is
  // that only the first-party public client exchanges sessions.
  const clientId = params.get("client_id") ?? FIRST_PARTY_CLIENT_ID;
  if (clientId !== FIRST_PARTY_CLIENT_ID || params.has("client_secret") || params.has("client_assertion")) {
    throw new OAuthError("invalid_client", "client not allowed to exchange a session");
  }

  const subjectToken = requireParam(params, "subject_token");
  const subjectTokenType = requireParam(params, "subject_token_type");
  if (subjectTokenType !== TOKEN_TYPE.session) {
    throw new OAuthError("invalid_request", `unsupported subject_token_type ${subjectTokenType}`);
  }
  // §2.1: requested_token_type is optional; we only issue access tokens.
  const requested = params.get("requested_token_type");
  if (requested !== undefined && requested !== TOKEN_TYPE.accessToken) {
    throw new OAuthError("invalid_request", "only access tokens can be requested for a session");
  }
  if (params.has("actor_token") || params.has("actor_token_type")) {
    throw new OAuthError("invalid_request", "actor tokens are not accepted for a session exchange");
  }
  if (params.has("resource")) {
    throw new OAuthError("invalid_target", "use audience, not resource, to name the API");
  }
  // §2.2.2: an audience we do not serve is invalid_target.
  const audience = requireParam(params, "audience");
  if (!settings.allowedAudiences.has(audience)) throw new OAuthError("invalid_target", "audience not allowed");

  const scope = normaliseScope(params.get("scope"));

  const session = await resolveSession(env, subjectToken);
  if (typeof session === "string") {
    throw new OAuthError(
      "invalid_grant",
      session === "unknown_or_expired"
        ? "subject_token is invalid or expired"
        : session === "no_active_organization"
          ? "the session has no active organization"
          : "the user is not a member of the session's organization",
    );
  }

  const minted = await mintAccessToken(env, settings.issuer, {
    subject: session.userId,
    audience,
    clientId,
    orgId: session.orgId,
    scope,
    roles: session.roles,
    sessionId: session.sessionId,
    notAfter: session.expiresAt,
    ttlSeconds: settings.accessTokenTtlSeconds,
  });
  return { minted, scope };
}

/** RFC 6749 §3.3: space-delimited, case-sensitive; unknown scopes are refused. */
function normaliseScope(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === "") return DEFAULT_SCOPE;
  const scopes = [...new Set(raw.split(" ").filter(Boolean))];
  for (const scope of scopes) {
    if (!SUPPORTED_SCOPES.has(scope)) throw new OAuthError("invalid_scope", `unknown scope ${scope}`);
  }
  return scopes.join(" ");
}
