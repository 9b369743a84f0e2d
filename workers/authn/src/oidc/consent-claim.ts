import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";
import { CLOCK_TOLERANCE_SECONDS } from "../../../../shared/contracts/tokens.ts";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../../../shared/contracts/oidc.ts";
import { bodyText } from "../http/body-text.ts";

/** Better Auth's consent endpoint, as its router names the path (without the API prefix). */
const CONSENT_PATH = OIDC_ENDPOINT.consent.slice(ENDPOINT.authApi.length);

/** The `verification` identifier of an answered consent request (docs/storage-schema.md). */
export const answeredConsentIdentifier = (signature: string) => `consent-answered:${signature}`;

/** The refusal's `error_description`, which the consent page turns into its own (oidc/consent.tsx). */
export const CONSENT_ALREADY_ANSWERED = "the consent request was already answered";

/**
 * A consent request is answered once. The consent page's form carries the
 * authorization request as Better Auth signed it (`sig`, valid until its
 * `exp`, one minute: auth/plugins/oauth-provider.ts `codeExpiresIn`), and
 * Better Auth checks only the signature and the expiry, so the same form
 * posted again within the minute (a replay, a second tab, a double click)
 * was answered again: another authorization code for one authorization
 * request (RFC 6749 §10.5: codes "MUST be short lived and single-use", and
 * a form that mints one each time it is posted makes that moot). So the request's
 * signature is claimed first, in one conditional INSERT into `verification`:
 * D1 runs statements one at a time, so of any number of concurrent posts of
 * one form exactly one inserts the row and goes on to Better Auth; the
 * others are refused `400 invalid_request` (the consent page shows its own
 * page, oidc/consent.tsx). An allow and a deny are both answers: whichever
 * comes first is the one.
 *
 * Runs after the provider's own hook for every `oauth_query` (plugins' hooks
 * run in plugin order, and the provider is among the base plugins), which
 * refuses a bad signature or a passed `exp` before this writes anything. A
 * request with no session claims nothing: Better Auth refuses it (401) and
 * the person signs in and authorizes again, with a new signed request.
 * The row lives until the signed request's `exp` (plus the clock tolerance),
 * after which Better Auth refuses the request as expired anyway; the token
 * Worker's cron prunes it with every other expired `verification` row.
 */
export function consentAnsweredOnce(db: D1Database): BetterAuthPlugin {
  return {
    id: "mono-consent-answered-once",
    hooks: {
      before: [
        {
          matcher: (ctx) => ctx.path === CONSENT_PATH,
          handler: createAuthMiddleware(async (ctx) => {
            const signed = new URLSearchParams(bodyText(ctx.body, "oauth_query"));
            const signature = signed.get("sig");
            const exp = Number(signed.get("exp"));
            // Nothing signed: Better Auth's own "missing oauth query" answer follows.
            if (!signature || !Number.isSafeInteger(exp)) return;
            const session = await getSessionFromCtx(ctx);
            if (!session) return;
            const now = Date.now();
            const until = (exp + CLOCK_TOLERANCE_SECONDS) * 1000;
            if (!(await claim(db, answeredConsentIdentifier(signature), session.user.id, until, now))) {
              throw new APIError("BAD_REQUEST", {
                error: "invalid_request",
                error_description: CONSENT_ALREADY_ANSWERED,
              });
            }
          }),
        },
      ],
    },
  };
}

async function claim(db: D1Database, identifier: string, userId: string, until: number, now: number): Promise<boolean> {
  const claimed = await db
    .prepare(
      `INSERT INTO verification (id, identifier, value, expires_at, created_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?5
       WHERE NOT EXISTS (SELECT 1 FROM verification WHERE identifier = ?2 AND expires_at > ?5)`,
    )
    .bind(crypto.randomUUID(), identifier, userId, until, now)
    .run();
  return claimed.meta.changes === 1;
}
