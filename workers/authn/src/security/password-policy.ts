import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { COMMON_PASSWORDS } from "./common-passwords.ts";

/**
 * The password policy (NIST SP 800-63B §3.1.1.2, ASVS 5.0 V6.2): at least
 * MIN_PASSWORD_LENGTH characters, up to MAX_PASSWORD_LENGTH (long
 * passphrases welcome), any characters, no composition rules, and none of
 * the most common passwords (common-passwords.ts). Length is Better Auth's
 * own check (`minPasswordLength`/`maxPasswordLength`: PASSWORD_TOO_SHORT,
 * PASSWORD_TOO_LONG); the list is this plugin's, on every endpoint that sets
 * a new password, before anything is looked up, so the refusal says nothing
 * about whether an account exists.
 */
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 128;

/** Better Auth's error code when a new password is on the list. */
export const PASSWORD_TOO_COMMON = "PASSWORD_TOO_COMMON";

/** The endpoints that set a password, and the body field that carries it. */
const NEW_PASSWORD_FIELDS: ReadonlyMap<string, string> = new Map([
  ["/sign-up/email", "password"],
  ["/change-password", "newPassword"],
  ["/reset-password", "newPassword"],
  ["/set-password", "newPassword"],
]);

let common: ReadonlySet<string> | undefined;

/** Compared as the list is written: NFKC, lower case (so "Password123" is "password123"). */
export function isCommonPassword(password: string): boolean {
  common ??= new Set(COMMON_PASSWORDS.split("\n"));
  return common.has(password.normalize("NFKC").toLowerCase());
}

export function passwordPolicyPlugin() {
  return {
    id: "mono-password-policy",
    hooks: {
      before: [
        {
          matcher: (ctx) => NEW_PASSWORD_FIELDS.has(ctx.path ?? ""),
          handler: createAuthMiddleware(async (ctx) => {
            const field = NEW_PASSWORD_FIELDS.get(ctx.path) ?? "";
            const value = (ctx.body as Record<string, unknown> | undefined)?.[field];
            if (typeof value === "string" && isCommonPassword(value)) {
              throw new APIError("BAD_REQUEST", {
                code: PASSWORD_TOO_COMMON,
                message: "This password is too common. Choose another.",
              });
            }
          }),
        },
      ],
    },
  } satisfies BetterAuthPlugin;
}
