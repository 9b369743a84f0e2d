import { APIError, createAuthMiddleware, getSessionFromCtx, isAPIError } from "better-auth/api";
import { twoFactor } from "better-auth/plugins";
import { SECOND_FACTOR_REQUIRED } from "../../../../../shared/contracts/second-factor.ts";
import { hasSecondFactorMark, markSecondFactor, secondFactorSatisfied } from "../../two-factor/second-factor.ts";

/**
 * Endpoints whose success proves the second factor. Each either starts a new
 * session (the challenge after a password sign-in; enabling 2FA) or, called
 * with a session, steps that session up.
 */
const SECOND_FACTOR_PATHS: ReadonlySet<string> = new Set([
  "/two-factor/verify-totp",
  "/two-factor/verify-backup-code",
  "/two-factor/verify-otp",
  // A passkey with user verification (auth/plugins/passkey.ts requires it) is
  // possession plus a PIN or biometric: two factors in one gesture.
  "/passkey/verify-authentication",
]);

/**
 * Password sign-ins. Better Auth's 2FA hook (which runs before ours) ends the
 * session such a sign-in made unless a valid trusted-device cookie let it
 * through, so a session still standing after it has passed the second factor.
 */
const PASSWORD_SIGN_IN_PATHS: ReadonlySet<string> = new Set(["/sign-in/email", "/sign-in/username"]);

/** The OAuth endpoints that authenticate a client or a token, never the browser's session. */
const OAUTH2_WITHOUT_SESSION: ReadonlySet<string> = new Set([
  "/oauth2/token",
  "/oauth2/introspect",
  "/oauth2/revoke",
  "/oauth2/register",
  "/oauth2/userinfo",
  "/oauth2/end-session",
  "/oauth2/public-client",
  "/oauth2/public-client-prelogin",
]);

/**
 * What a session of a 2FA person may do only once it passed the second
 * factor: manage credentials, the account, organizations, SSO and SCIM, and
 * authorize OAuth clients (a code from /oauth2/authorize is a token for the
 * person). Better Auth would accept any live session there, including one
 * from a sign-in path that never asked for the second factor. Signing in,
 * signing out, reading the session and proving the second factor stay open.
 */
export function needsSecondFactor(path: string): boolean {
  if (path === "/passkey/generate-authenticate-options" || path === "/passkey/verify-authentication") return false;
  if (path.startsWith("/oauth2/")) return !OAUTH2_WITHOUT_SESSION.has(path);
  // An IdP's callback is a sign-in, which a half-signed-in browser may still finish
  // (`/sso/callback/:providerId`: the shared callback and SAML are not served, sso/).
  if (path.startsWith("/sso/")) return !path.startsWith("/sso/callback/");
  return (
    path.startsWith("/api-key/") ||
    path.startsWith("/passkey/") ||
    path.startsWith("/organization/") ||
    path.startsWith("/scim/") ||
    path.startsWith("/admin/") ||
    path === "/two-factor/disable" ||
    path === "/two-factor/generate-backup-codes" ||
    path === "/two-factor/get-totp-uri" ||
    path === "/list-sessions" ||
    path === "/revoke-session" ||
    path === "/revoke-sessions" ||
    path === "/revoke-other-sessions" ||
    path === "/change-password" ||
    path === "/change-email" ||
    path === "/update-user" ||
    path === "/delete-user" ||
    path === "/link-social" ||
    path === "/unlink-account" ||
    path === "/list-accounts"
  );
}

/** Seconds a password sign-in waits for its second factor (Better Auth's `twoFactorCookieMaxAge`). */
export const TWO_FACTOR_CHALLENGE_SECONDS = 5 * 60;
/** Days a device stays trusted after "trust this device" (Better Auth's `trustDeviceMaxAge`). */
export const TRUSTED_DEVICE_DAYS = 30;
/** How Better Auth names a trusted device's verification row (`trust-device-<random>`). */
const TRUST_DEVICE_PREFIX = "trust-device-";
/** Better Auth's endpoint that turns the second factor off. */
const DISABLE_PATH = "/two-factor/disable";

/**
 * TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s) with backup codes and
 * trusted devices, plus the mark (two-factor/second-factor.ts) that lets the
 * rest of the Worker tell a session that passed the second factor from one
 * that did not. A code is accepted once (RFC 6238 §5.2): the runtime plugin
 * two-factor/totp-code-claim.ts claims it before Better Auth checks it, in
 * one conditional INSERT that is both the replay check and the record of
 * the spent code, so nothing here reads or writes it again.
 */
export function twoFactorPlugin(issuer: string) {
  const plugin = twoFactor({
    // The authenticator app shows this as the account's label.
    issuer: new URL(issuer).host,
    twoFactorCookieMaxAge: TWO_FACTOR_CHALLENGE_SECONDS,
    trustDeviceMaxAge: TRUSTED_DEVICE_DAYS * 24 * 60 * 60,
    // Ten single-use codes, kept encrypted with the Better Auth secret.
    backupCodeOptions: { amount: 10, length: 10, storeBackupCodes: "encrypted" },
    // NIST SP 800-63B §5.2.2: ten consecutive failures lock the second factor for 15 minutes.
    accountLockout: { enabled: true, maxFailedAttempts: 10, durationSeconds: 15 * 60 },
  });

  const refuseUnverifiedSession = createAuthMiddleware(async (ctx) => {
    const current = await getSessionFromCtx(ctx, { disableCookieCache: true });
    if (!current) return;
    if (await secondFactorSatisfied(ctx.context.internalAdapter, current)) return;
    throw new APIError("FORBIDDEN", {
      code: SECOND_FACTOR_REQUIRED,
      message: "This session has not passed its second factor",
    });
  });

  const markVerifiedSession = createAuthMiddleware(async (ctx) => {
    if (isAPIError(ctx.context.returned) || ctx.context.returned instanceof Error) return;
    const store = ctx.context.internalAdapter;
    const fresh = ctx.context.newSession;
    const prior = ctx.context.session;
    if (fresh) {
      if (!fresh.user.twoFactorEnabled) return;
      const proven =
        SECOND_FACTOR_PATHS.has(ctx.path) ||
        PASSWORD_SIGN_IN_PATHS.has(ctx.path) ||
        // A session replaced by its own person's authenticated action (a
        // password change, say) keeps what the session it replaces had.
        (prior !== null &&
          prior.user.id === fresh.user.id &&
          prior.session.id !== fresh.session.id &&
          (await hasSecondFactorMark(store, prior)));
      if (proven) await markSecondFactor(store, fresh);
      return;
    }
    // Verifying a code with a session and no new one: the session steps up.
    if (!SECOND_FACTOR_PATHS.has(ctx.path)) return;
    const current = prior ?? (await getSessionFromCtx(ctx, { disableCookieCache: true }));
    if (current) await markSecondFactor(store, current);
  });

  /**
   * Turning the second factor off forgets every device it trusted. Better
   * Auth forgets only the one whose cookie the request carries: any other
   * device trusted before (a thief's, say, that once passed the old factor)
   * skipped the new factor once it was on again, with the password alone,
   * for the rest of TRUSTED_DEVICE_DAYS. A trusted device is a
   * `trust-device-*` verification row whose value is the person's id
   * (better-auth/dist/plugins/two-factor/verify-two-factor.mjs).
   */
  const forgetTrustedDevices = createAuthMiddleware(async (ctx) => {
    const returned = ctx.context.returned;
    if (!returned || typeof returned !== "object" || isAPIError(returned)) return;
    if ((returned as Record<string, unknown>).status !== true) return;
    const userId = ctx.context.session?.user.id;
    if (!userId) return;
    await ctx.context.adapter.deleteMany({
      model: "verification",
      where: [
        { field: "value", value: userId },
        { field: "identifier", operator: "starts_with", value: TRUST_DEVICE_PREFIX },
      ],
    });
  });

  return {
    ...plugin,
    hooks: {
      before: [
        {
          matcher: (context: { path?: string }) => needsSecondFactor(context.path ?? ""),
          handler: refuseUnverifiedSession,
        },
      ],
      after: [
        ...plugin.hooks.after,
        { matcher: () => true, handler: markVerifiedSession },
        { matcher: (context: { path?: string }) => context.path === DISABLE_PATH, handler: forgetTrustedDevices },
      ],
    },
  };
}
