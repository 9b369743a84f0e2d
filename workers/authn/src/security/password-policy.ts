import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";
import { COMMON_PASSWORDS } from "./common-passwords.ts";

/**
 * The password policy (NIST SP 800-63B §3.1.1.2, ASVS 5.0 V6.2): at least
 * MIN_PASSWORD_LENGTH characters, up to MAX_PASSWORD_LENGTH (long
 * passphrases welcome), any characters, no composition rules, and none of
 * the most common passwords (common-passwords.ts). Length (in code points:
 * PASSWORD_TOO_SHORT, PASSWORD_TOO_LONG, Better Auth's codes) and the list
 * are this plugin's, on every endpoint that sets
 * a new password, before anything is looked up, so the refusal says nothing
 * about whether an account exists.
 */
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 128;
/**
 * NIST SP 800-63B §5.1.1.2: "each Unicode code point SHALL be counted as a
 * single character". Better Auth counts UTF-16 code units (String.length),
 * two for a character outside the Basic Multilingual Plane, so four emoji
 * passed its 8-character minimum and 100 were refused as over 128. This
 * plugin holds the length in code points; Better Auth's own cap is set to
 * the most units MAX_PASSWORD_LENGTH code points can take, so it never
 * refuses what this allows (and still bounds what reaches the hash).
 */
export const MAX_PASSWORD_UTF16_UNITS = MAX_PASSWORD_LENGTH * 2;

/** Better Auth's error code when a new password is on the list. */
export const PASSWORD_TOO_COMMON = "PASSWORD_TOO_COMMON";
/** The error code when a new password is a word of its own account or of this service. */
export const PASSWORD_CONTEXT_SPECIFIC = "PASSWORD_CONTEXT_SPECIFIC";

/** The service's own name as people write it (its mails say "Mono-Auth"). */
const SERVICE_NAMES: readonly string[] = ["mono-auth", "monoauth", "mono auth"];

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

/**
 * NIST SP 800-63B §5.1.1.2 (800-63B-4 §3.1.1.2) also asks that a new
 * password be checked against "context-specific words, such as the name of
 * the service, the username, and derivatives thereof": the account's email
 * address and its local part, the person's name and the service's name, in
 * any letter case, alone or followed by digits and punctuation
 * ("alice2026!"). A guesser who knows whom they aim at tries those first.
 */
export function isContextSpecificPassword(password: string, words: readonly (string | undefined)[]): boolean {
  const fold = (value: string) => value.normalize("NFKC").toLowerCase().trim();
  const candidate = fold(password);
  const stem = candidate.replace(/[\p{N}\p{P}\p{S}\s]+$/u, "");
  const context = new Set<string>(SERVICE_NAMES);
  for (const word of words) {
    if (!word) continue;
    const folded = fold(word);
    context.add(folded);
    const at = folded.lastIndexOf("@");
    if (at > 0) context.add(folded.slice(0, at));
  }
  context.delete("");
  return context.has(candidate) || context.has(stem);
}

type HookContext = Parameters<Parameters<typeof createAuthMiddleware>[0]>[0];

/**
 * The words of the account a new password is for: at sign-up the body's
 * address and name; at a change the session's person; at a reset the
 * person the (valid) token names, read as Better Auth reads it. An invalid
 * token gives no words, and the endpoint answers INVALID_TOKEN as ever.
 */
async function accountWords(ctx: HookContext): Promise<(string | undefined)[]> {
  const body = (ctx.body ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  if (ctx.path === "/sign-up/email") return [text(body.email), text(body.name)];
  if (ctx.path === "/reset-password") {
    const token = text(body.token) ?? text((ctx.query as Record<string, unknown> | undefined)?.token);
    if (!token) return [];
    const row = await ctx.context.internalAdapter.findVerificationValue(`reset-password:${token}`);
    if (!row || new Date(row.expiresAt).getTime() <= Date.now()) return [];
    const person = await ctx.context.internalAdapter.findUserById(row.value);
    return person ? [person.email, person.name] : [];
  }
  const session = await getSessionFromCtx(ctx);
  return session ? [session.user.email, session.user.name] : [];
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
            if (typeof value !== "string") return;
            const codePoints = [...value].length;
            if (codePoints < MIN_PASSWORD_LENGTH) {
              throw new APIError("BAD_REQUEST", { code: "PASSWORD_TOO_SHORT", message: "Password too short" });
            }
            if (codePoints > MAX_PASSWORD_LENGTH) {
              throw new APIError("BAD_REQUEST", { code: "PASSWORD_TOO_LONG", message: "Password too long" });
            }
            if (isCommonPassword(value)) {
              throw new APIError("BAD_REQUEST", {
                code: PASSWORD_TOO_COMMON,
                message: "This password is too common. Choose another.",
              });
            }
            if (isContextSpecificPassword(value, await accountWords(ctx))) {
              throw new APIError("BAD_REQUEST", {
                code: PASSWORD_CONTEXT_SPECIFIC,
                message: "This password is your email address, your name or the service's name. Choose another.",
              });
            }
          }),
        },
      ],
    },
  } satisfies BetterAuthPlugin;
}
