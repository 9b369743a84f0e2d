import { TOKEN_TYPE } from "../../../../shared/contracts/tokens.ts";
import { verifyOurAccessToken } from "./our-access-token.ts";
import type { TokenVerifier } from "./types.ts";

/**
 * The `subject_token_type`s (RFC 8693 §2.1, §3) the public token endpoint
 * exchanges, each with its verifier. One of our own access tokens today; an
 * ID token of our OIDC provider (`urn:ietf:params:oauth:token-type:id_token`)
 * is one more entry here, with a verifier that maps its `aud` (the client it
 * was issued to) onto VerifiedToken.clientId, and nothing else changes.
 *
 * A Better Auth session (TOKEN_TYPE.session) is deliberately not one of
 * them: a session token that leaked to a page script or a log would
 * otherwise mint tokens for the session's whole lifetime. Sessions are
 * exchanged only over the RPC entrypoint (sessions/exchange-session.ts), by
 * the authn Worker, from the cookie it reads on the server.
 */
const SUBJECT_TOKEN_TYPES: ReadonlyMap<string, TokenVerifier> = new Map([
  [TOKEN_TYPE.accessToken, verifyOurAccessToken],
]);

/**
 * The `actor_token_type`s: the agent's own access token (for example from
 * client_credentials). An actor proves who acts, so only a token we issued
 * to a client of ours can.
 */
const ACTOR_TOKEN_TYPES: ReadonlyMap<string, TokenVerifier> = new Map([[TOKEN_TYPE.accessToken, verifyOurAccessToken]]);

export function subjectTokenVerifier(type: string): TokenVerifier | undefined {
  return SUBJECT_TOKEN_TYPES.get(type);
}

export function actorTokenVerifier(type: string): TokenVerifier | undefined {
  return ACTOR_TOKEN_TYPES.get(type);
}
