import { type SQL, sql } from "drizzle-orm";
import { secondFactorMarkIdentifier } from "../../../../shared/contracts/second-factor.ts";
import { session, user, verification } from "../../../../shared/db/auth-schema.ts";

/**
 * Whether a Better Auth session has passed its person's second factor, as
 * one SQL column of a query over `session` joined to `user`: true for a
 * person without 2FA, and for one with it only when the session carries the
 * mark the authn Worker writes once it passed (its person's, unexpired:
 * workers/authn/src/two-factor/second-factor.ts). A session of a 2FA person
 * without it (a social or SSO sign-in, which Better Auth's 2FA hook does not
 * check, or a session from before 2FA was turned on) must step up at
 * ENDPOINT.twoFactor before it acts (docs/authn.md, "Second factor").
 */
export function secondFactorPassed(now: Date): SQL<number> {
  return sql<number>`(coalesce(${user.twoFactorEnabled}, 0) = 0 or exists (
    select 1 from ${verification}
    where ${verification.identifier} = ${secondFactorMarkIdentifier("")} || ${session.id}
      and ${verification.value} = ${session.userId}
      and ${verification.expiresAt} > ${now.getTime()}
  ))`;
}
