import type { BetterAuthOptions } from "better-auth";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import type { AuthnConfig } from "../config.ts";
import { type MailEnv, mailSender } from "./mail-sender.ts";
import type { MailMessage } from "./message.ts";
import { accountExistsMessage, changeEmailMessage, resetPasswordMessage, verifyEmailMessage } from "./templates.ts";

/** A reset link works once (Better Auth consumes it) and only this long. */
export const RESET_PASSWORD_TTL_SECONDS = 15 * 60;
/** A verification or email-change link (a signed token Better Auth checks statelessly). */
export const VERIFY_EMAIL_TTL_SECONDS = 24 * 60 * 60;

/**
 * Links point at our own pages, never at Better Auth's API: the page shows
 * what will happen and acts on a same-origin POST, so a mail scanner that
 * fetches every link verifies nothing and spends no reset token.
 */
export function pageLink(config: Pick<AuthnConfig, "issuer">, path: string, token: string): string {
  return `${config.issuer}${path}?token=${encodeURIComponent(token)}`;
}

/**
 * Better Auth's mail hooks: email verification (sent on sign-up, and again
 * on a sign-in refused for an unverified address), password reset, the
 * change-email confirmation to the current address, and a note to an
 * address that someone tried to sign up with again (so that sign-up answers
 * the same for new and existing addresses, and the owner still hears of it).
 */
export function authMailOptions(env: MailEnv, config: AuthnConfig) {
  const send = async (message: MailMessage) => {
    try {
      await mailSender(env, config).send(message);
    } catch (error) {
      // Sent after the answer (advanced.backgroundTasks), so a failure is
      // logged, never shown: showing it would tell who has an account.
      console.error("mail not sent", message.kind, error instanceof Error ? error.message : "unknown");
    }
  };
  return {
    emailVerification: {
      sendOnSignUp: true,
      sendOnSignIn: true,
      autoSignInAfterVerification: false,
      expiresIn: VERIFY_EMAIL_TTL_SECONDS,
      sendVerificationEmail: async ({ user, token }) => {
        await send(verifyEmailMessage(user.email, pageLink(config, ENDPOINT.verifyEmail, token)));
      },
    },
    emailAndPassword: {
      requireEmailVerification: config.requireEmailVerification,
      resetPasswordTokenExpiresIn: RESET_PASSWORD_TTL_SECONDS,
      sendResetPassword: async ({ user, token }) => {
        await send(
          resetPasswordMessage(
            user.email,
            pageLink(config, ENDPOINT.resetPassword, token),
            RESET_PASSWORD_TTL_SECONDS / 60,
          ),
        );
      },
      onExistingUserSignUp: async ({ user }) => {
        await send(accountExistsMessage(user.email, `${config.issuer}${ENDPOINT.forgotPassword}`));
      },
    },
    changeEmail: {
      enabled: true,
      sendChangeEmailConfirmation: async ({ user, newEmail, token }) => {
        await send(changeEmailMessage(user.email, newEmail, pageLink(config, ENDPOINT.verifyEmail, token)));
      },
    },
  } satisfies {
    emailVerification: BetterAuthOptions["emailVerification"];
    emailAndPassword: Partial<NonNullable<BetterAuthOptions["emailAndPassword"]>>;
    changeEmail: NonNullable<NonNullable<BetterAuthOptions["user"]>["changeEmail"]>;
  };
}
