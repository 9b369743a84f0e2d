import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { getAuth } from "../auth/create-auth.ts";
import { apiResponse } from "../forms/api-response.ts";
import { PASSWORD_MANAGED_BY_SSO } from "../sso/managed-password.ts";
import {
  MAX_PASSWORD_LENGTH,
  MAX_PASSWORD_UTF16_UNITS,
  MIN_PASSWORD_LENGTH,
  PASSWORD_CONTEXT_SPECIFIC,
  PASSWORD_TOO_COMMON,
} from "../security/password-policy.ts";
import { crossOriginPost, type FlowContext, FlowPage, formFields, overLimit } from "./flow-kit.tsx";
import { TOO_MANY_ATTEMPTS } from "./handlers.tsx";

/**
 * ENDPOINT.forgotPassword and ENDPOINT.resetPassword. The request answers
 * the same for every address (Better Auth does the lookup's work either
 * way, and the mail goes out after the answer). The reset link opens a form;
 * the token is spent only by its POST, works once, for
 * RESET_PASSWORD_TTL_SECONDS (email/auth-mail.ts), ends every session of
 * the account (each through the revocation hooks) and signs nobody in, so
 * the next sign-in still asks for the second factor.
 */
export const RESET_REQUESTED =
  "If an account uses that address, we have emailed it a link to choose a new password. The link works once, for 15 minutes.";
const BAD_LINK = "This reset link is invalid, used or expired. Ask for a new one.";
/**
 * A live link of an account its organization signs in with SSO (one mailed
 * before such accounts stopped getting links, or before the account became
 * managed): the API's `403 PASSWORD_MANAGED_BY_SSO` (sso/managed-password.ts).
 * Only a valid, unspent token of such an account gets here; every other
 * token is the bad-link page, so the page tells a stranger nothing.
 */
const MANAGED_BY_SSO =
  "This account has no password to reset: your organization signs you in with single sign-on (SSO). Sign in with your work address.";

const PASSWORD_REFUSALS: Record<string, string> = {
  PASSWORD_TOO_SHORT: `Use a password of at least ${MIN_PASSWORD_LENGTH} characters.`,
  PASSWORD_TOO_LONG: `Use a password of at most ${MAX_PASSWORD_LENGTH} characters.`,
  [PASSWORD_TOO_COMMON]: "That password is one of the most common ones. Choose another.",
  [PASSWORD_CONTEXT_SPECIFIC]: "Choose a password that is not your email address, your name or our name.",
};

function ForgotForm() {
  return (
    <form class="card" method="post" action={ENDPOINT.forgotPassword}>
      <label>
        Email
        <input name="email" type="email" autocomplete="email" required maxlength={254} />
      </label>
      <button type="submit">Email me a reset link</button>
    </form>
  );
}

function ResetForm(props: { token: string }) {
  return (
    <form class="card" method="post" action={ENDPOINT.resetPassword}>
      <input type="hidden" name="token" value={props.token} />
      <label>
        New password
        <input
          name="password"
          type="password"
          autocomplete="new-password"
          required
          minlength={MIN_PASSWORD_LENGTH}
          maxlength={MAX_PASSWORD_UTF16_UNITS}
        />
      </label>
      <button type="submit">Set my new password</button>
    </form>
  );
}

export function showForgotPassword(c: FlowContext) {
  return c.html(
    <FlowPage title="Forgot your password?" nonce={c.var.nonce}>
      <ForgotForm />
    </FlowPage>,
  );
}

export async function submitForgotPassword(c: FlowContext) {
  const refused = crossOriginPost(c);
  if (refused) return refused;
  const field = await formFields(c);
  const email = field("email").trim();
  const nonce = c.var.nonce;
  const limited = await overLimit(c, email);
  if (limited)
    return c.html(<FlowPage title="Forgot your password?" nonce={nonce} error={TOO_MANY_ATTEMPTS} />, 429, limited);
  if (email) {
    const response = await getAuth(c.env).api.requestPasswordReset({
      body: { email },
      headers: c.req.raw.headers,
      asResponse: true,
    });
    // Only a malformed address is refused, and that says nothing about accounts.
    if (response.status === 400) {
      return c.html(
        <FlowPage title="Forgot your password?" nonce={nonce} error="Enter a valid email address.">
          <ForgotForm />
        </FlowPage>,
        400,
      );
    }
  }
  return c.html(
    <FlowPage title="Check your inbox" nonce={nonce}>
      <p data-testid="notice">{RESET_REQUESTED}</p>
    </FlowPage>,
  );
}

export function showResetPassword(c: FlowContext) {
  const token = c.req.query("token");
  const nonce = c.var.nonce;
  if (!token) {
    return c.html(
      <FlowPage title="Choose a new password" nonce={nonce} error={BAD_LINK}>
        <ForgotForm />
      </FlowPage>,
      400,
    );
  }
  return c.html(
    <FlowPage title="Choose a new password" nonce={nonce}>
      <ResetForm token={token} />
    </FlowPage>,
  );
}

export async function submitResetPassword(c: FlowContext) {
  const refused = crossOriginPost(c);
  if (refused) return refused;
  const field = await formFields(c);
  const token = field("token");
  const nonce = c.var.nonce;
  const limited = await overLimit(c, undefined);
  if (limited)
    return c.html(<FlowPage title="Choose a new password" nonce={nonce} error={TOO_MANY_ATTEMPTS} />, 429, limited);
  const response = await apiResponse(() =>
    getAuth(c.env).api.resetPassword({
      body: { newPassword: field("password"), token },
      headers: c.req.raw.headers,
      asResponse: true,
    }),
  );
  if (response.ok) {
    return c.html(
      <FlowPage title="Password changed" nonce={nonce}>
        <p data-testid="reset-done">
          Your password is changed and every session of your account has been signed out.{" "}
          <a href={ENDPOINT.signIn}>Sign in</a>
        </p>
      </FlowPage>,
    );
  }
  const { code } = (await response.json().catch(() => ({}))) as { code?: string };
  if (response.status === 403 && code === PASSWORD_MANAGED_BY_SSO) {
    return c.html(
      <FlowPage title="Sign in with your organization" nonce={nonce} error={MANAGED_BY_SSO}>
        <p data-testid="sso-managed">
          <a href={ENDPOINT.signIn}>Sign in with SSO</a>
        </p>
      </FlowPage>,
      403,
    );
  }
  const refusal = code ? PASSWORD_REFUSALS[code] : undefined;
  if (refusal && token) {
    return c.html(
      <FlowPage title="Choose a new password" nonce={nonce} error={refusal}>
        <ResetForm token={token} />
      </FlowPage>,
      400,
    );
  }
  if (response.status >= 500) console.error("reset failed", response.status, code);
  return c.html(
    <FlowPage title="Choose a new password" nonce={nonce} error={BAD_LINK}>
      <ForgotForm />
    </FlowPage>,
    response.status >= 500 ? 500 : 400,
  );
}
