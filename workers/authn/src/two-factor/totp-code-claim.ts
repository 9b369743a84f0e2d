import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";
import { usedTotpIdentifier } from "../../../../shared/contracts/second-factor.ts";

const VERIFY_TOTP = "/two-factor/verify-totp";
/** Better Auth's two-factor challenge cookie (auth/plugins/two-factor.ts). */
const CHALLENGE_COOKIE = "two_factor";
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
            const body: unknown = ctx.body;
            const code =
              body && typeof body === "object" && "code" in body && typeof body.code === "string" ? body.code : "";
            if (!code) return;
            const person = await challengedPerson(ctx);
            if (!person) return;
            const now = Date.now();
            const claimed = await db
              .prepare(
                `INSERT INTO verification (id, identifier, value, expires_at, created_at, updated_at)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?5
                 WHERE NOT EXISTS (SELECT 1 FROM verification WHERE identifier = ?2 AND expires_at > ?5)`,
              )
              .bind(crypto.randomUUID(), usedTotpIdentifier(person, code), person, now + CLAIM_SECONDS * 1000, now)
              .run();
            if (claimed.meta.changes !== 1) {
              throw new APIError("UNAUTHORIZED", { code: "INVALID_CODE", message: "Invalid code" });
            }
          }),
        },
      ],
    },
  };
}

type HookContext = Parameters<Parameters<typeof createAuthMiddleware>[0]>[0];

/** The person the code is for: the session's (enabling, stepping up), or the challenge cookie's (signing in). */
async function challengedPerson(ctx: HookContext): Promise<string | null> {
  const current = await getSessionFromCtx(ctx, { disableCookieCache: true });
  if (current) return current.user.id;
  const cookie = ctx.context.createAuthCookie(CHALLENGE_COOKIE);
  const challenge = await ctx.getSignedCookie(cookie.name, ctx.context.secret);
  if (!challenge) return null;
  return (await ctx.context.internalAdapter.findVerificationValue(challenge))?.value ?? null;
}
