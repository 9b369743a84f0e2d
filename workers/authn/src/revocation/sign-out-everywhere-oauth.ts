/**
 * "Sign out everywhere" (Better Auth's `POST /revoke-sessions`) and "sign
 * out other devices" (`POST /revoke-other-sessions`) also end the person's
 * refresh and opaque access tokens at our OpenID Provider, as a password
 * reset and a password change with `revokeOtherSessions` do
 * (security/unproven-account-reset.ts, security/change-password-oauth.ts).
 * The session hooks end the sessions and the tokens minted from them
 * (session-revocation.ts), but an OAuth grant is no session's: a client
 * signed in at our provider kept refreshing for the refresh token's whole
 * lifetime after the person had signed out everywhere, which is what they
 * do after losing a device or suspecting a thief (RFC 6749 §10.4: the
 * authorization server may revoke refresh tokens on a compromise; Okta's
 * "sign out of all sessions" and Keycloak's logout-all end the person's
 * OAuth tokens too). Consents stay, so the person's own clients sign in
 * again without a second consent.
 *
 * `/revoke-session` (one named session) keeps them: a refresh token is the
 * person's grant to a client, not a session's, and ending one device's
 * session must not sign every app out.
 *
 * It runs in the endpoint's after hook (endpoint-hooks.ts), so only a call
 * the endpoint accepted revokes: the user hook runs before the plugins'
 * before hooks (the second-factor gate among them), so a before hook would
 * act on requests they then refuse. The revocation is written before the
 * answer leaves; if it cannot be, the answer is `503
 * REVOCATION_NOT_RECORDED`, never the endpoint's success. The sessions are
 * gone by then: after `/revoke-other-sessions` the person repeats the call
 * from the session they kept; after `/revoke-sessions` they sign in and
 * repeat it.
 */
import { isAPIError } from "better-auth/api";
import { revokeOAuthTokens } from "../security/unproven-account-reset.ts";
import { revocationNotRecorded } from "./record-or-refuse.ts";

/** Better Auth's "sign out everywhere" and "sign out other devices". */
export const SIGN_OUT_EVERYWHERE: ReadonlySet<string> = new Set(["/revoke-sessions", "/revoke-other-sessions"]);

/** The person who signed out everywhere (or their other devices), if this call did. */
function signedOutEverywhere(session: unknown, returned: unknown): string | undefined {
  // Better Auth answers `{ status: true }` only once the sessions are deleted.
  if (!returned || typeof returned !== "object" || isAPIError(returned)) return undefined;
  if ((returned as Record<string, unknown>).status !== true) return undefined;
  // The session the endpoint's own middleware authenticated (Better Auth
  // assigns it onto the context the after hook reads).
  const user = (session as { user?: unknown } | null | undefined)?.user;
  if (!user || typeof user !== "object") return undefined;
  const { id } = user as Record<string, unknown>;
  return typeof id === "string" ? id : undefined;
}

/** Revokes the person's OAuth tokens after a successful sign-out everywhere; throws `revocationNotRecorded()` if it cannot. */
export async function revokeOAuthOnSignOutEverywhere(
  db: D1Database,
  path: string,
  session: unknown,
  returned: unknown,
): Promise<void> {
  const userId = signedOutEverywhere(session, returned);
  if (!userId) return;
  try {
    await revokeOAuthTokens(db, userId);
  } catch (error) {
    console.error("OAuth tokens not revoked on", path, error);
    throw revocationNotRecorded();
  }
}
