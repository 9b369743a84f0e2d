import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { getAuth } from "../auth/create-auth.ts";
import { auditFailedSignIn, auditRateLimited } from "../audit/credential-audit.ts";
import { authnConfig } from "../config.ts";
import { checkCredentialLimits, credentialAttempt, retryAfterHeader } from "../limits/credential-limits.ts";
import { afterSignIn, SIGN_IN_DELAYED, SIGN_IN_LOCKED, signInDelay } from "../limits/sign-in-guard.ts";
import { MAX_PASSWORD_UTF16_UNITS } from "../security/password-policy.ts";
import { bindingCookiePair, EMAIL_VERIFICATION_PASSWORD_REQUIRED, passwordHash } from "../security/sign-up-binding.ts";
import { TOO_MANY_ATTEMPTS } from "./handlers.tsx";
import { type FlowContext, FlowPage } from "./flow-kit.tsx";

/**
 * The verification page away from the browser that signed up
 * (security/sign-up-binding.ts): it asks for the account's password before
 * the address is confirmed, so a click by the address's owner never
 * confirms an account someone else created under it. The password is
 * counted and delayed as a sign-in's is (limits/sign-in-guard.ts).
 */

/** Better Auth's code for a wrong password where only the password is asked (its verify-password's). */
export const INVALID_PASSWORD = "INVALID_PASSWORD";

const ASK_PASSWORD =
  "This link confirms a new Mono-Auth account for this address. To confirm it here, enter the password chosen when signing up.";
const WRONG_PASSWORD = "That is not this account's password.";

export function PasswordConfirmPage(props: { nonce: string; token: string; error?: string; code?: string }) {
  return (
    <FlowPage title="Confirm your sign-up" nonce={props.nonce} error={props.error}>
      {props.code ? (
        <p class="muted" data-testid="error-code">
          {props.code}
        </p>
      ) : null}
      <p>{ASK_PASSWORD}</p>
      <p data-testid="not-you">
        Did not sign up? Someone else may have used your address: do not confirm. Use{" "}
        <a href={ENDPOINT.forgotPassword}>Forgot password</a> instead to take the account over; that removes anything
        set up in it before.
      </p>
      <form class="card" method="post" action={ENDPOINT.verifyEmail}>
        <input type="hidden" name="token" value={props.token} />
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            maxlength={MAX_PASSWORD_UTF16_UNITS}
          />
        </label>
        <button type="submit">Confirm with my password</button>
      </form>
    </FlowPage>
  );
}

/** Better Auth's verification, from a request carrying these cookies; its hook decides whether they bind. */
export async function callVerifyEmail(c: FlowContext, token: string, cookie: string | null): Promise<Response> {
  const config = authnConfig(c.env);
  const headers = new Headers();
  if (cookie) headers.set("Cookie", cookie);
  const url = `${config.issuer}${ENDPOINT.authApi}/verify-email?token=${encodeURIComponent(token)}`;
  return getAuth(c.env).handler(new Request(url, { headers }));
}

export async function refusalCode(response: Response): Promise<string | undefined> {
  const body = (await response
    .clone()
    .json()
    .catch(() => ({}))) as { code?: unknown };
  return typeof body.code === "string" ? body.code : undefined;
}

export function passwordRequired(c: FlowContext, token: string) {
  return c.html(
    <PasswordConfirmPage nonce={c.var.nonce} token={token} code={EMAIL_VERIFICATION_PASSWORD_REQUIRED} />,
    403,
  );
}

/**
 * The page's POST with a password: the sign-in's rate limits and delay for
 * this account and address, then the password against the account's hash,
 * then Better Auth's verification with the binding it proves. Returns
 * Better Auth's answer, or this page's own refusal.
 */
export async function verifyWithPassword(
  c: FlowContext,
  link: { token: string; userId: string; email: string },
  password: string,
): Promise<{ refused: Response } | { verified: Response }> {
  const config = authnConfig(c.env);
  const nonce = c.var.nonce;
  const path = ENDPOINT.verifyEmail;
  const attempt = await credentialAttempt(config, c.req.raw.headers, link.email);
  const [verdict, delay] = await Promise.all([checkCredentialLimits(c.env, attempt), signInDelay(c.env, attempt)]);
  if (verdict.limited) {
    c.executionCtx.waitUntil(auditRateLimited(c.env, { path, by: verdict.by, attempt }));
    const page = <PasswordConfirmPage nonce={nonce} token={link.token} error={TOO_MANY_ATTEMPTS} code="rate_limited" />;
    return { refused: await c.html(page, 429, retryAfterHeader(verdict)) };
  }
  // The consecutive-failure cap, then the progressive delay, as at sign-in (limits/sign-in-throttle.ts).
  if (delay.locked) {
    c.executionCtx.waitUntil(auditFailedSignIn(c.env, { path, error: "account_locked", email: link.email, attempt }));
    const page = <PasswordConfirmPage nonce={nonce} token={link.token} error={SIGN_IN_LOCKED} code="account_locked" />;
    return { refused: await c.html(page, 403) };
  }
  if (delay.delayed) {
    c.executionCtx.waitUntil(auditRateLimited(c.env, { path, by: delay.by, attempt }));
    const page = <PasswordConfirmPage nonce={nonce} token={link.token} error={SIGN_IN_DELAYED} code="rate_limited" />;
    return { refused: await c.html(page, 429, retryAfterHeader(delay)) };
  }
  const hash = await passwordHash(c.env.DB, link.userId);
  const context = await getAuth(c.env).$context;
  // No password on the account: nobody's to prove, and Better Auth's hook lets the click through.
  const proven = hash === undefined || (await context.password.verify({ hash, password }));
  await afterSignIn(c.env, config, { attempt, verdict: delay, email: link.email, status: proven ? 200 : 401 }, (work) =>
    c.executionCtx.waitUntil(work),
  );
  if (!proven) {
    c.executionCtx.waitUntil(auditFailedSignIn(c.env, { path, error: INVALID_PASSWORD, email: link.email, attempt }));
    const page = (
      <PasswordConfirmPage nonce={nonce} token={link.token} error={WRONG_PASSWORD} code={INVALID_PASSWORD} />
    );
    return { refused: await c.html(page, 401) };
  }
  const binding = hash === undefined ? null : await bindingCookiePair(config, link.userId);
  return { verified: await callVerifyEmail(c, link.token, binding) };
}
