import { isAPIError } from "better-auth/api";
import type { Context } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { auditRateLimited } from "../audit/credential-audit.ts";
import { getAuth } from "../auth/create-auth.ts";
import { authnConfig } from "../config.ts";
import { checkCredentialAttempt, retryAfterHeader } from "../limits/credential-limits.ts";
import { isSameOriginPost } from "../security/same-origin.ts";
import { pageSession } from "../two-factor/page-session.ts";
import type { AuthnApp } from "./handlers.tsx";
import { TwoFactorPage } from "./two-factor-page.tsx";

type PageContext = Context<AuthnApp>;

/** Better Auth's 2FA error codes as the person at the form should read them, with the status the page answers. */
const REFUSALS: Record<string, { status: 400 | 401 | 429; message: string }> = {
  INVALID_CODE: { status: 401, message: "That code is not right. Check the time on your device and try again." },
  INVALID_BACKUP_CODE: { status: 401, message: "That backup code is not right, or it was used already." },
  INVALID_TWO_FACTOR_COOKIE: { status: 401, message: "Your sign-in has expired. Sign in again." },
  TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE: { status: 401, message: "Too many wrong codes. Sign in again." },
  ACCOUNT_TEMPORARILY_LOCKED: {
    status: 429,
    message: "Too many wrong codes for this account. Wait 15 minutes, then sign in again.",
  },
  TOTP_NOT_ENABLED: { status: 400, message: "Two-factor authentication is not set up for this account." },
  BACKUP_CODES_NOT_ENABLED: { status: 400, message: "Two-factor authentication is not set up for this account." },
};

/** GET /two-factor: the challenge, unless this browser already holds a session that passed it. */
export async function showTwoFactor(c: PageContext) {
  const current = await pageSession(c.env, c.req.raw.headers);
  if ("session" in current) return c.redirect(ENDPOINT.app, 303);
  return c.html(<TwoFactorPage nonce={c.var.nonce} />);
}

/**
 * POST /two-factor: a TOTP code (`code`, optional `trustDevice`) or a backup
 * code (`backupCode`). Better Auth reads the challenge cookie a password
 * sign-in left (or steps up the session the cookie names) and, on success,
 * sets the new session's cookie. Every attempt spends the credential limits
 * of a password attempt (limits/credential-limits.ts), on top of Better
 * Auth's five per challenge and ten per account (auth/plugins/two-factor.ts).
 */
export async function submitTwoFactor(c: PageContext) {
  if (!isSameOriginPost(c.req.raw, authnConfig(c.env).issuer)) {
    return httpErrorResponse("cross_origin_post", "form posts must come from this origin");
  }
  const form = await c.req.raw.formData().catch(() => new FormData());
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === "string" ? value.trim() : "";
  };
  const again = (error: string, status: 400 | 401 | 429 | 500) =>
    c.html(<TwoFactorPage nonce={c.var.nonce} error={error} />, status);

  const verdict = await checkCredentialAttempt(c.env, authnConfig(c.env), c.req.raw.headers, undefined);
  if (verdict.limited) {
    c.executionCtx.waitUntil(
      auditRateLimited(c.env, { path: ENDPOINT.twoFactor, by: verdict.by, attempt: verdict.attempt }),
    );
    for (const [name, value] of Object.entries(retryAfterHeader(verdict))) c.header(name, value);
    return again("Too many attempts. Wait a minute, then try again.", 429);
  }

  const backupCode = text("backupCode");
  const code = text("code");
  if (!backupCode && !/^[0-9]{6}$/.test(code)) return again("Enter the 6-digit code from your app.", 400);
  const trustDevice = text("trustDevice") === "on";
  const auth = getAuth(c.env);
  let response: Response;
  try {
    response = backupCode
      ? await auth.api.verifyBackupCode({
          body: { code: backupCode, trustDevice },
          headers: c.req.raw.headers,
          asResponse: true,
        })
      : await auth.api.verifyTOTP({ body: { code, trustDevice }, headers: c.req.raw.headers, asResponse: true });
  } catch (error) {
    if (!isAPIError(error)) throw error;
    response = Response.json(error.body ?? {}, { status: error.statusCode });
  }
  if (!response.ok) {
    const { code: refusal } = (await response.json().catch(() => ({}))) as { code?: string };
    const known = refusal ? REFUSALS[refusal] : undefined;
    if (known) return again(known.message, known.status);
    // A refusal we have no words for is still the request's fault, not ours.
    if (response.status < 500) return again("That did not work. Sign in again.", 400);
    console.error("two-factor verification failed", response.status, refusal);
    return again("Something went wrong. Sign in again.", 500);
  }
  for (const cookie of response.headers.getSetCookie()) c.header("Set-Cookie", cookie, { append: true });
  return c.redirect(ENDPOINT.app, 303);
}
