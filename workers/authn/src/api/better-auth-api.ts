import type { Context } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { auditFailedSignIn, auditRateLimited } from "../audit/credential-audit.ts";
import { getAuth } from "../auth/create-auth.ts";
import { authnConfig } from "../config.ts";
import { noStoreWhenPersonal } from "../http/personal-no-store.ts";
import { withoutSessionTokens } from "../http/session-token-fields.ts";
import { attemptedEmail } from "../limits/attempted-email.ts";
import {
  type CredentialVerdict,
  checkCredentialLimits,
  credentialAttempt,
  retryAfterHeader,
} from "../limits/credential-limits.ts";
import { accountBudget, limitedEndpoint } from "../limits/limited-endpoints.ts";
import { afterSignIn, SIGN_IN_DELAYED, SIGN_IN_LOCKED, signInDelay } from "../limits/sign-in-guard.ts";
import type { ThrottleVerdict } from "../limits/sign-in-throttle.ts";

type ApiContext = Context<{ Bindings: AuthnEnv; Variables: { body: Uint8Array<ArrayBuffer> } }>;

const SIGN_IN = `${ENDPOINT.authApi}/sign-in/email`;
const SIGN_OUT = `${ENDPOINT.authApi}/sign-out`;

/**
 * /api/auth/*: Better Auth's own API, with its own CSRF (trusted origin)
 * checks, behind the credential limits, with failed sign-ins audited,
 * raw session tokens taken out of its answers (http/session-token-fields.ts)
 * and a person's answers kept out of caches (http/personal-no-store.ts).
 */
export async function betterAuthApi(c: ApiContext): Promise<Response> {
  const path = c.req.path;
  const auth = getAuth(c.env);
  const request = c.req.raw;

  const named = limitedEndpoint(request.method, path);
  let verdict: CredentialVerdict | undefined;
  let delay: ThrottleVerdict | undefined;
  let email: string | undefined;
  if (named) {
    email =
      named === "body"
        ? await attemptedEmail(request.headers, c.var.body)
        : named === "session"
          ? (await auth.api.getSession({ headers: request.headers }))?.user.email
          : undefined;
    const attempt = await credentialAttempt(authnConfig(c.env), request.headers, email);
    // The progressive delay's read (limits/sign-in-throttle.ts, a D1 read
    // that changes nothing) goes alongside the rate limiters instead of
    // after them: one round trip less before the password is checked. A
    // rate-limited attempt is still refused first and its read unused.
    [verdict, delay] = await Promise.all([
      checkCredentialLimits(c.env, attempt, accountBudget(path)),
      path === SIGN_IN ? signInDelay(c.env, attempt) : undefined,
    ]);
    if (verdict.limited) {
      c.executionCtx.waitUntil(auditRateLimited(c.env, { path, by: verdict.by, attempt: verdict.attempt }));
      return httpErrorResponse("rate_limited", "too many attempts; try again later", retryAfterHeader(verdict));
    }
  }

  // The consecutive-failure cap, then the progressive delay: after the rate
  // limits and before any password is looked at.
  if (delay?.locked && verdict && email) {
    c.executionCtx.waitUntil(
      auditFailedSignIn(c.env, { path, error: "account_locked", email, attempt: verdict.attempt }),
    );
    return httpErrorResponse("account_locked", SIGN_IN_LOCKED);
  }
  if (delay?.delayed && verdict) {
    c.executionCtx.waitUntil(auditRateLimited(c.env, { path, by: delay.by, attempt: verdict.attempt }));
    return httpErrorResponse("rate_limited", SIGN_IN_DELAYED, retryAfterHeader(delay));
  }

  let response = await auth.handler(request);

  if (delay && verdict) {
    await afterSignIn(
      c.env,
      authnConfig(c.env),
      { attempt: verdict.attempt, verdict: delay, email, status: response.status },
      (work) => c.executionCtx.waitUntil(work),
    );
  }
  if (path === SIGN_IN && response.status === 401 && verdict && email) {
    const failed = response.clone();
    const attempt = verdict.attempt;
    c.executionCtx.waitUntil(
      (async () => {
        const { code } = (await failed.json().catch(() => ({}))) as { code?: unknown };
        const error = typeof code === "string" ? code : "unauthorized";
        await auditFailedSignIn(c.env, { path, error, email, attempt });
      })(),
    );
  }
  // A sign-out that did not happen keeps the cookie, so the person can try again.
  if (path === SIGN_OUT && !response.ok) response = withoutSetCookie(response);
  return noStoreWhenPersonal(request, await withoutSessionTokens(path, response));
}

function withoutSetCookie(response: Response): Response {
  const headers = new Headers(response.headers);
  headers.delete("Set-Cookie");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
