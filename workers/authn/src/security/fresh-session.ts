import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";

/** What a person whose sign-in is too old to create an API key is told. */
export const FRESH_SESSION_FOR_API_KEY = "Sign in again to create an API key.";

/**
 * Re-authentication before an email change, an organization's deletion or a
 * new API key (ASVS 5.0 V7.5.1): Better Auth 1.7 guards `/change-email` with
 * its "sensitive" session check only (a live session read from the
 * database), not its freshness check, and `/organization/delete` and
 * `/api-key/create` with neither. Taking over an account through a stolen
 * session is exactly a change of its email followed by a password reset;
 * deleting an org with one ends a tenant, its members and every token of it,
 * and cannot be undone; a key minted with one is a credential of up to a
 * year that outlives the session and survives a password reset. So each
 * needs a session whose sign-in is at most `session.freshAge` old
 * (SESSION_FRESH_AGE_SECONDS); an older one is refused with Better Auth's
 * own SESSION_NOT_FRESH, and the person signs in again. (Password changes
 * already need the current password; adding a passkey, Better Auth's
 * freshness check.) The account page creates keys server-side for the
 * session's user, with no request for this hook to read, so it asks
 * isFreshSession itself (pages/account-actions.ts).
 */
const NEEDS_FRESH_SESSION: ReadonlyMap<string, string> = new Map([
  ["/change-email", "Sign in again to change your email address."],
  ["/organization/delete", "Sign in again to delete an organization."],
  ["/api-key/create", FRESH_SESSION_FOR_API_KEY],
]);

/** Whether a session signed in at `createdAt` may still make a sensitive change (`freshAgeSeconds` 0: always). */
export function isFreshSession(createdAt: Date | string, freshAgeSeconds: number, now = Date.now()): boolean {
  return freshAgeSeconds <= 0 || now - new Date(createdAt).getTime() < freshAgeSeconds * 1000;
}

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
            if (!isFreshSession(session.session.createdAt, ctx.context.sessionConfig.freshAge)) {
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
