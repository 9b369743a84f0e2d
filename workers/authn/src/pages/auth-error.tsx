import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import type { FlowContext } from "./flow-kit.tsx";
import { FlowPage } from "./flow-kit.tsx";

/** Better Auth's error page, where it sends a browser whose flow it refused. */
export const AUTH_ERROR_PAGE = `${ENDPOINT.authApi}/error`;

/** An error code (RFC 6749 §4.1.2.1's, Better Auth's, ours): letters, digits, underscores. */
const ERROR_CODE = /^[A-Za-z0-9_]{1,64}$/;

/**
 * GET AUTH_ERROR_PAGE: the authorization endpoint sends the person here
 * when it must not redirect to the client (RFC 6749 §4.1.2.1: an invalid
 * redirect URI, a disabled client), and social and SSO callbacks send their
 * refusals here. Better Auth's own page printed the query's
 * `error_description` as its message, so anyone could link people to the
 * issuer's origin showing prose of their own ("your account is locked, call
 * …"): content spoofing (OWASP WSTG-CLNT-03), without the pages' security
 * headers. This page names the error only when it is a code, says the rest
 * in its own words, and answers 400: it never reports a success.
 */
export function showAuthError(c: FlowContext) {
  const error = c.req.query("error") ?? "";
  const code = ERROR_CODE.test(error) ? error : "unknown";
  return c.html(
    <FlowPage title="Sign-in could not continue" nonce={c.var.nonce}>
      <p data-testid="auth-error">
        The request was refused (error code <code>{code}</code>). Go back to the application you came from and start
        again, or <a href={ENDPOINT.signIn}>sign in here</a>.
      </p>
    </FlowPage>,
    400,
  );
}
