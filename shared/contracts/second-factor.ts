/**
 * The mark a session carries once its person has passed their second factor
 * (TOTP, a backup code, a trusted device or a passkey with user
 * verification): a row of Better Auth's `verification` table under this
 * identifier, whose value is the user id and whose expiry is the session's.
 * Sessions of a person with 2FA on and no mark are refused by the session
 * exchange and by the account pages (workers/authn/src/two-factor/).
 */
export function secondFactorMarkIdentifier(sessionId: string): string {
  return `second-factor:${sessionId}`;
}

/** Better Auth's error code for a session that has not passed its second factor. */
export const SECOND_FACTOR_REQUIRED = "SECOND_FACTOR_REQUIRED";

/**
 * A TOTP code already accepted for this person (RFC 6238 §5.2: the verifier
 * must not accept it a second time): a `verification` row that outlives the
 * code's validity window.
 */
export function usedTotpIdentifier(userId: string, code: string): string {
  return `totp-used:${userId}:${code}`;
}
