import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";

/**
 * Re-authentication before an email change or an organization's deletion
 * (ASVS 5.0 V7.5.1): Better Auth 1.7 guards `/change-email` with its
 * "sensitive" session check only (a live session read from the database),
 * not its freshness check, and `/organization/delete` with neither. Taking
 * over an account through a stolen session is exactly a change of its email
 * followed by a password reset; deleting an org with one ends a tenant, its
 * members and every token of it, and cannot be undone. So both need a
 * session whose sign-in is at most `session.freshAge` old
 * (SESSION_FRESH_AGE_SECONDS); an older one is refused with Better Auth's
 * own SESSION_NOT_FRESH, and the person signs in again. (Password changes
 * already need the current password; adding a passkey, Better Auth's
 * freshness check.)
 */
const NEEDS_FRESH_SESSION: ReadonlyMap<string, string> = new Map([
  ["/change-email", "Sign in again to change your email address."],
  ["/organization/delete", "Sign in again to delete an organization."],
]);

export function freshSessionPlugin() {
  return {
    id: "mono-fresh-session",
    hooks: {
      before: [
        {
          matcher: (ctx) => NEEDS_FRESH_SESSION.has(ctx.path ?? ""),
          handler: createAuthMiddleware(async (ctx) => {
            const session = await getSessionFromCtx(ctx);
            if (!session) return; // the endpoint's own check answers 401
            const freshAgeMs = ctx.context.sessionConfig.freshAge * 1000;
            const age = Date.now() - new Date(session.session.createdAt).getTime();
            if (freshAgeMs > 0 && age >= freshAgeMs) {
              throw new APIError("FORBIDDEN", {
                code: "SESSION_NOT_FRESH",
                message: NEEDS_FRESH_SESSION.get(ctx.path ?? "") ?? "Sign in again.",
              });
            }
          }),
        },
      ],
    },
  } satisfies BetterAuthPlugin;
}
