/**
 * Every cookie name on the one origin (docs/storage-schema.md, "Cookies").
 * Only the authn Worker sets cookies; the token Worker reads the session
 * cookie at the vault's connection flow. A name is `<prefix>.<name>`.
 */

/**
 * The prefix of every cookie, Better Auth's own included (its
 * `advanced.cookiePrefix`, workers/authn/src/auth/options.ts). `__Host-`
 * binds a cookie to this exact origin (RFC 6265bis §4.1.3.2: Secure, Path=/,
 * no Domain); browsers accept it over https only, so a plain-http local run
 * uses the bare prefix.
 */
export const COOKIE_PREFIX = { https: "__Host-mono", http: "mono" } as const;

/** The prefix for an issuer: `__Host-mono` on https, `mono` otherwise. */
export function cookiePrefix(issuer: string): string {
  return issuer.startsWith("https://") ? COOKIE_PREFIX.https : COOKIE_PREFIX.http;
}

/** A cookie's full name on this issuer. */
export function cookieName(issuer: string, name: string): string {
  return `${cookiePrefix(issuer)}.${name}`;
}

/** Cookies the authn Worker sets itself, beside Better Auth's. */
export const OWN_COOKIE = {
  /** An OIDC authorization request kept across sign-in (workers/authn/src/resume/after-sign-in.ts). */
  oidcResume: "oidc_resume",
  /** An operator's vault connect link kept across sign-in (workers/authn/src/resume/after-sign-in.ts). */
  vaultConfirmResume: "vault_confirm_resume",
  /** The owner's way past the sign-in delay (workers/authn/src/limits/unlock-sign-in.ts). */
  signInUnlock: "sign_in_unlock",
  /** A sign-up's proof that this browser made the account (workers/authn/src/security/sign-up-binding.ts). */
  signUpBinding: "sign_up_binding",
} as const;

/**
 * Better Auth's core cookies come from its config (`getCookies` of
 * better-auth/cookies); these are its plugins' names, fixed in their code,
 * written down here for the code and docs that name them. An upgrade that
 * renames one fails test/authn/plugin-cookie-names.test.ts, which reads
 * each from a real flow's Set-Cookie.
 */
export const BETTER_AUTH_PLUGIN_COOKIE = {
  /** twoFactor plugin: the pending second-factor challenge of a password sign-in. */
  twoFactor: "two_factor",
  /** twoFactor plugin: a device trusted for 30 days. */
  trustDevice: "trust_device",
  /** passkey plugin (`advanced.webAuthnChallengeCookie`'s default): the WebAuthn challenge. */
  passkeyChallenge: "better-auth-passkey",
  /** Social and SSO sign-in: the OAuth `state`. */
  oauthState: "state",
  /** The OpenID provider's RP-initiated logout confirmation (the session cookie's name plus this suffix). */
  logoutConfirmation: "session_token.oauth_logout_confirmation",
} as const;

/** Better Auth's session cookie (`getCookies(options).sessionToken`), which the token Worker reads too. */
export const SESSION_COOKIE = "session_token";
