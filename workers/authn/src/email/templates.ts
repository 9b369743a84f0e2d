import type { MailMessage } from "./message.ts";

/**
 * Every mail the authn Worker sends. Each carries exactly one link (or none)
 * and nothing else a reader could act on: no account details, no second
 * link a phish could imitate.
 */
export function verifyEmailMessage(to: string, link: string): MailMessage {
  return {
    to,
    kind: "verify-email",
    subject: "Confirm your Mono-Auth sign-up",
    text: `Someone signed up for a Mono-Auth account with this address. If it was you, open this link to confirm your sign-up:\n\n${link}\n\nIf you did not sign up, ignore this mail and do not confirm: the account stays unusable until it is confirmed.\n`,
  };
}

/**
 * To the current address, before an email change goes ahead. It names the
 * new address: approving is handing the account to whoever reads it, and a
 * stolen session can ask.
 */
export function changeEmailMessage(to: string, newEmail: string, link: string): MailMessage {
  return {
    to,
    kind: "change-email",
    subject: "Approve the change of your email address",
    text: `Someone signed in to your Mono-Auth account asked to change its email address to ${newEmail}. To approve it, open this link:\n\n${link}\n\nIf it was not you, ignore this mail and change your password.\n`,
  };
}

export function resetPasswordMessage(to: string, link: string, minutes: number): MailMessage {
  return {
    to,
    kind: "reset-password",
    subject: "Reset your password",
    text: `To choose a new password, open this link within ${minutes} minutes:\n\n${link}\n\nIt works once. If you did not ask for it, ignore this mail: your password stays as it is.\n`,
  };
}

/** A reset asked for an account its organization signs in with SSO: no reset link, the way in. */
export function ssoSignInMessage(to: string, signInLink: string): MailMessage {
  return {
    to,
    kind: "sso-sign-in",
    subject: "Your organization signs you in",
    text: `Someone asked to reset the password of this account. It has no password: your organization signs you in with single sign-on (SSO). Sign in here with your work address:\n\n${signInLink}\n\nIf you did not ask, ignore this mail.\n`,
  };
}

/** A sign-up named an address that already has an account: tell its owner, not the caller. */
export function accountExistsMessage(to: string, forgotPasswordLink: string): MailMessage {
  return {
    to,
    kind: "account-exists",
    subject: "You already have an account",
    text: `Someone tried to create a Mono-Auth account with this address, which already has one. If it was you and you forgot your password, open:\n\n${forgotPasswordLink}\n\nIf not, ignore this mail.\n`,
  };
}

export function unlockSignInMessage(to: string, link: string, minutes: number): MailMessage {
  return {
    to,
    kind: "unlock-sign-in",
    subject: "Sign-in attempts on your account were slowed down",
    text: `Several sign-ins to your account failed, so new attempts are being slowed down. If it was you, open this link within ${minutes} minutes to sign in without waiting:\n\n${link}\n\nIf not, nobody got in; consider changing your password.\n`,
  };
}

/** Asked for on /unlock-sign-in: lifts the consecutive-failure lock, once, and signs nobody in. */
export function unlockAccountMessage(to: string, link: string, minutes: number): MailMessage {
  return {
    to,
    kind: "unlock-account",
    subject: "Unlock sign-in to your account",
    text: `Someone asked for a link to unlock sign-in to your Mono-Auth account, which too many failed sign-ins locked or slowed down. If it was you, open this link within ${minutes} minutes to unlock it, then sign in with your password:\n\n${link}\n\nIt works once. If you did not ask, ignore this mail; nobody got in. If the failed sign-ins were not yours, consider changing your password.\n`,
  };
}
