import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import type { AccountBudget } from "./credential-limits.ts";

/**
 * Better Auth's endpoints (and its plugins') that check a secret — a
 * password, a reset or verification token, a TOTP or backup code, a passkey
 * assertion — or that send mail or start a sign-in elsewhere, with where the
 * account they aim at is named: in the body, by the session (a stolen
 * session guessing its person's password), or nowhere (then the client
 * address alone is limited). All share the pages' budget
 * (limits/credential-limits.ts). A plugin endpoint is limited by being
 * listed here, whoever wires the plugin.
 */
export type AccountSource = "body" | "session" | "none";

const LIMITED: ReadonlyArray<readonly [string, AccountSource]> = [
  // Passwords.
  ["/sign-in/email", "body"],
  ["/sign-up/email", "body"],
  ["/change-password", "session"],
  ["/verify-password", "session"],
  ["/delete-user", "session"],
  // Mail and the tokens it carries.
  ["/request-password-reset", "body"],
  ["/reset-password", "none"],
  ["/send-verification-email", "body"],
  ["/change-email", "session"],
  // The locked-out owner's unlock link (limits/account-unlock-endpoint.ts), on a per-account budget of its own.
  ["/request-account-unlock", "body"],
  // Second-factor set-up checks the password (better-auth/plugins twoFactor).
  ["/two-factor/enable", "session"],
  ["/two-factor/disable", "session"],
  ["/two-factor/get-totp-uri", "session"],
  ["/two-factor/generate-backup-codes", "session"],
  // Second factors (better-auth/plugins twoFactor): codes are guessable.
  ["/two-factor/verify-totp", "none"],
  ["/two-factor/verify-otp", "none"],
  ["/two-factor/verify-backup-code", "none"],
  ["/two-factor/send-otp", "none"],
  // Passkeys (@better-auth/passkey).
  ["/passkey/generate-authenticate-options", "none"],
  ["/passkey/verify-authentication", "none"],
  // Sign-in elsewhere: SSO (@better-auth/sso) and social providers.
  ["/sign-in/sso", "body"],
  ["/sign-in/social", "none"],
  // OAuth consent (@better-auth/oauth-provider).
  ["/oauth2/consent", "session"],
];

const BY_PATH: ReadonlyMap<string, AccountSource> = new Map(
  LIMITED.map(([path, account]) => [`${ENDPOINT.authApi}${path}`, account]),
);

/** Endpoints whose per-account budget is their own (limits/credential-limits.ts AccountBudget). */
const OWN_BUDGET: ReadonlyMap<string, AccountBudget> = new Map([
  [`${ENDPOINT.authApi}/request-account-unlock`, "unlock-request"],
]);

/** The per-account budget a limited path spends. */
export function accountBudget(path: string): AccountBudget {
  return OWN_BUDGET.get(path) ?? "account";
}

/** How a POST to this /api/auth/* path is limited, or undefined when it is not. */
export function limitedEndpoint(method: string, path: string): AccountSource | undefined {
  return method === "POST" ? BY_PATH.get(path) : undefined;
}
