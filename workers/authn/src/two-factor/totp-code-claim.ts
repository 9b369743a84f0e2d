import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";
import { BETTER_AUTH_PLUGIN_COOKIE } from "../../../../shared/contracts/cookies.ts";
import { usedTotpIdentifier } from "../../../../shared/contracts/second-factor.ts";
import { bodyText } from "../http/body-text.ts";

const VERIFY_TOTP = "/two-factor/verify-totp";
/** A claimed code outlives its validity window (30 s steps, one step of drift each way). */
const CLAIM_SECONDS = 3 * 30;

/**
 * RFC 6238 §5.2: a TOTP code is accepted once. Better Auth accepts a valid
 * code again within its window, and a check-then-write after it (read the
 * spent marker, write it once verified) lets two requests carrying the same
 * observed code both pass when they arrive together. So the code is claimed
 * first, in one conditional INSERT: D1 runs statements one at a time, so of
 * any number of concurrent requests for the same person and code exactly one
 * inserts the row and goes on to Better Auth's check; the others are
 * refused. A wrong code claims nothing useful: it never verifies anyway.
 */
export function totpCodeClaim(db: D1Database): BetterAuthPlugin {
  return {
    id: "mono-totp-code-claim",
    hooks: {
      before: [
        {
          matcher: (ctx) => ctx.path === VERIFY_TOTP,
          handler: createAuthMiddleware(async (ctx) => {
            const code = bodyText(ctx.body, "code");
            if (!code) return;
            const now = Date.now();
            // Enabling 2FA or stepping a session up: the session's person.
            const current = await getSessionFromCtx(ctx, { disableCookieCache: true });
            if (current) {
              if (!(await claimForPerson(db, current.user.id, code, now))) throw invalidCode();
              return;
            }
            // Signing in: the person the challenge cookie's row names.
            const cookie = ctx.context.createAuthCookie(BETTER_AUTH_PLUGIN_COOKIE.twoFactor);
            const challenge = await ctx.getSignedCookie(cookie.name, ctx.context.secret);
            if (!challenge) return;
            if (await claimForChallenge(db, challenge, code, now)) return;
            // Nothing claimed: a spent code, or no such challenge, which
            // Better Auth's own check answers (INVALID_TWO_FACTOR_COOKIE).
            if (await ctx.context.internalAdapter.findVerificationValue(challenge)) throw invalidCode();
          }),
        },
      ],
    },
  };
}

function invalidCode(): APIError {
  return new APIError("UNAUTHORIZED", { code: "INVALID_CODE", message: "Invalid code" });
}

async function claimForPerson(db: D1Database, person: string, code: string, now: number): Promise<boolean> {
  const claimed = await db
    .prepare(
      `INSERT INTO verification (id, identifier, value, expires_at, created_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?5
       WHERE NOT EXISTS (SELECT 1 FROM verification WHERE identifier = ?2 AND expires_at > ?5)`,
    )
    .bind(crypto.randomUUID(), usedTotpIdentifier(person, code), person, now + CLAIM_SECONDS * 1000, now)
    .run();
  return claimed.meta.changes === 1;
}

/**
 * The same claim for the person a sign-in challenge names, found in the same
 * statement (the challenge's newest row, as Better Auth's
 * `findVerificationValue` reads it), so a TOTP sign-in makes one D1 round
 * trip before the code is checked, not two. The used-code identifier is
 * `usedTotpIdentifier` around the person's id, built in SQL from its two
 * fixed parts.
 */
async function claimForChallenge(db: D1Database, challenge: string, code: string, now: number): Promise<boolean> {
  const [before, after, extra] = usedTotpIdentifier("\u0000", code).split("\u0000");
  if (before === undefined || after === undefined || extra !== undefined) {
    throw new Error("usedTotpIdentifier must name the person exactly once");
  }
  const claimed = await db
    .prepare(
      `INSERT INTO verification (id, identifier, value, expires_at, created_at, updated_at)
       SELECT ?1, ?2 || challenge.value || ?3, challenge.value, ?4, ?5, ?5
       FROM (SELECT value FROM verification WHERE identifier = ?6 ORDER BY created_at DESC LIMIT 1) AS challenge
       WHERE NOT EXISTS (
         SELECT 1 FROM verification WHERE identifier = ?2 || challenge.value || ?3 AND expires_at > ?5
       )`,
    )
    .bind(crypto.randomUUID(), before, after, now + CLAIM_SECONDS * 1000, now, challenge)
    .run();
  return claimed.meta.changes === 1;
}
