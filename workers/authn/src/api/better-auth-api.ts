import type { Context } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { auditFailedSignIn, auditRateLimited } from "../audit/credential-audit.ts";
import { getAuth } from "../auth/create-auth.ts";
import { authnConfig } from "../config.ts";
import { withoutSessionTokens } from "../http/session-token-fields.ts";
import { attemptedEmail } from "../limits/attempted-email.ts";
import { type CredentialVerdict, checkCredentialAttempt, retryAfterHeader } from "../limits/credential-limits.ts";

type ApiContext = Context<{ Bindings: AuthnEnv; Variables: { body: Uint8Array<ArrayBuffer> } }>;

/**
 * Better Auth's endpoints that check a password (or a secret standing in for
 * one), and where the account they aim at is named: in the body, or by the
 * session (a stolen session guessing its person's password). All are limited
 * with the pages' attempts (limits/credential-limits.ts).
 */
const CREDENTIAL_ENDPOINTS: ReadonlyMap<string, "body" | "session" | "none"> = new Map(
  (
    [
      ["/sign-in/email", "body"],
      ["/sign-up/email", "body"],
      ["/request-password-reset", "body"],
      ["/reset-password", "none"],
      ["/change-password", "session"],
      ["/verify-password", "session"],
      ["/delete-user", "session"],
    ] as const
  ).map(([path, account]) => [`${ENDPOINT.authApi}${path}`, account]),
);

const SIGN_IN = `${ENDPOINT.authApi}/sign-in/email`;
const SIGN_OUT = `${ENDPOINT.authApi}/sign-out`;

/**
 * /api/auth/*: Better Auth's own API, with its own CSRF (trusted origin)
 * checks, behind the credential limits, with failed sign-ins audited and
 * raw session tokens taken out of its answers (http/session-token-fields.ts).
 */
export async function betterAuthApi(c: ApiContext): Promise<Response> {
  const path = c.req.path;
  const auth = getAuth(c.env);
  const request = c.req.raw;

  const named = request.method === "POST" ? CREDENTIAL_ENDPOINTS.get(path) : undefined;
  let verdict: CredentialVerdict | undefined;
  let email: string | undefined;
  if (named) {
    email =
      named === "body"
        ? await attemptedEmail(request.headers, c.var.body)
        : named === "session"
          ? (await auth.api.getSession({ headers: request.headers }))?.user.email
          : undefined;
    verdict = await checkCredentialAttempt(c.env, authnConfig(c.env), request.headers, email);
    if (verdict.limited) {
      c.executionCtx.waitUntil(auditRateLimited(c.env, { path, by: verdict.by, attempt: verdict.attempt }));
      return httpErrorResponse("rate_limited", "too many attempts; try again later", retryAfterHeader(verdict));
    }
  }

  let response = await auth.handler(request);

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
  return withoutSessionTokens(path, response);
}

function withoutSetCookie(response: Response): Response {
  const headers = new Headers(response.headers);
  headers.delete("Set-Cookie");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
