/**
 * A password change that signs out other devices (Better Auth's
 * `POST /change-password` with `revokeOtherSessions: true`) also ends the
 * person's refresh and opaque access tokens at our OpenID Provider, as a
 * reset does (unproven-account-reset.ts). Ticking "sign out other devices"
 * is what a person does after a suspected compromise; ending the sessions
 * alone left a client the thief had signed in with the old password
 * refreshing for the refresh token's whole lifetime (RFC 6749 §10.4: the
 * authorization server may revoke refresh tokens on a compromise; Google
 * ends its OAuth grants' tokens on a password change the same way).
 * Consents stay, so the person's own clients sign in again without a
 * second consent.
 *
 * A change WITHOUT `revokeOtherSessions` keeps the tokens, as it keeps the
 * other sessions: that is a routine rotation, and the person chose to stay
 * signed in elsewhere; revoking their apps behind that choice would make
 * the option mean less than it says. The change runs in the endpoint's
 * after hook (revocation/endpoint-hooks.ts), so only a change that
 * succeeded revokes. The revocation is written before the answer leaves;
 * if it cannot be, the answer is `503 REVOCATION_NOT_RECORDED`, never the
 * change's success (the password is changed by then: "sign out other
 * devices", revocation/sign-out-everywhere-oauth.ts, finishes the job).
 */
import { isAPIError } from "better-auth/api";
import { revocationNotRecorded } from "../revocation/record-or-refuse.ts";
import { revokeOAuthTokens } from "./unproven-account-reset.ts";

export const CHANGE_PASSWORD = "/change-password";

/** The person whose password change signed out their other devices, if this one did. */
function signedOutOthers(body: unknown, returned: unknown): string | undefined {
  if (!body || typeof body !== "object" || (body as Record<string, unknown>).revokeOtherSessions !== true) {
    return undefined;
  }
  if (!returned || typeof returned !== "object" || isAPIError(returned)) return undefined;
  const changed = (returned as Record<string, unknown>).user;
  if (!changed || typeof changed !== "object") return undefined;
  const { id } = changed as Record<string, unknown>;
  return typeof id === "string" ? id : undefined;
}

export async function revokeOAuthOnPasswordChange(db: D1Database, body: unknown, returned: unknown): Promise<void> {
  const userId = signedOutOthers(body, returned);
  if (!userId) return;
  try {
    await revokeOAuthTokens(db, userId);
  } catch (error) {
    console.error("OAuth tokens not revoked on a password change", error);
    throw revocationNotRecorded();
  }
}
