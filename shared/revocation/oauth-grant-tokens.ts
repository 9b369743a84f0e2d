/**
 * The statements that end a person's tokens at our OpenID Provider (Better
 * Auth's oauth-provider tables, shared/db/auth-schema.ts): every refresh
 * token marked revoked (a refresh with it is then `invalid_grant`, RFC 6749
 * §5.2) and every opaque access token deleted. Consents are left alone, so
 * the person's own clients sign in again without a second consent.
 *
 * One definition for both Workers that end them: the authn Worker on a
 * password reset or change and on "sign out everywhere"
 * (workers/authn/src/security/, workers/authn/src/revocation/), and the
 * token Worker's admin API when an operator signs a person out
 * (workers/token/src/admin/user-sessions.ts).
 */
import { and, eq, isNull } from "drizzle-orm";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { oidcAccessToken, oidcRefreshToken } from "../db/auth-schema.ts";

/** The two statements, for a caller that runs them in a larger batch (one transaction). */
export function oauthTokenRevocations(orm: DrizzleD1Database, userId: string, now: Date) {
  return [
    orm
      .update(oidcRefreshToken)
      .set({ revoked: now })
      .where(and(eq(oidcRefreshToken.userId, userId), isNull(oidcRefreshToken.revoked))),
    orm.delete(oidcAccessToken).where(eq(oidcAccessToken.userId, userId)),
  ] as const;
}

/** Ends the person's OAuth refresh and opaque access tokens in one batch: all of them or, on a failure, none. */
export async function revokeOAuthTokens(db: D1Database, userId: string): Promise<void> {
  const orm = drizzle(db);
  await orm.batch(oauthTokenRevocations(orm, userId, new Date()));
}
