import type { MiddlewareHandler } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { SECOND_FACTOR_REQUIRED } from "../../../../shared/contracts/second-factor.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { getAuth } from "../auth/create-auth.ts";
import { authnConfig } from "../config.ts";
import { Layout } from "../pages/layout.tsx";
import { isSameOriginPost } from "../security/same-origin.ts";
import { adminFetch } from "./admin-call.ts";
import type { ConsoleEnv } from "./types.ts";

interface Me {
  platform_operator: boolean;
  org_ids: string[] | null;
}

/**
 * Every console page needs a signed-in person whom the admin API accepts
 * (a platform operator or an org admin): without a session, the sign-in
 * page; with one the admin API refuses, a 403 page (for a session short of
 * its person's second factor, one that links to /two-factor). Every POST must come
 * from our own origin (the CSRF check the edge pages use).
 */
export const consoleSession: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  if (c.req.method === "POST" && !isSameOriginPost(c.req.raw, authnConfig(c.env).issuer)) {
    return httpErrorResponse("cross_origin_post", "console forms must be posted from this origin");
  }
  const session = await getAuth(c.env).api.getSession({ headers: c.req.raw.headers });
  if (!session) return c.redirect(ENDPOINT.signIn, 303);
  let response: Response;
  try {
    response = await adminFetch(c, session.session.token, "GET", "/me");
  } catch (error) {
    console.error("console: admin API unreachable", error);
    return httpErrorResponse("temporarily_unavailable", "the admin API cannot be reached; retry");
  }
  if (!response.ok) {
    const refusal = (await response.json().catch(() => ({}))) as { detail?: unknown; code?: unknown };
    // A session short of its person's second factor (a social or SSO sign-in) is no
    // non-operator: say how to step up, under the same 403, rather than turn them away.
    const stepUp =
      response.status === 403 &&
      typeof refusal.detail === "string" &&
      refusal.detail.startsWith(`${SECOND_FACTOR_REQUIRED}:`);
    // So that a page worth coming back to (a connect link) is kept across the step-up (vault-confirm.tsx).
    if (stepUp) c.set("secondFactorPending", true);
    return c.html(
      <Layout title="Console" nonce={c.var.nonce}>
        <h1>Console</h1>
        {stepUp ? (
          <p class="error" data-testid="console-second-factor">
            This session has not passed your second factor. <a href={ENDPOINT.twoFactor}>Verify it</a>, then open the
            console again.
          </p>
        ) : (
          <p class="error" data-testid="console-refused">
            The console is for platform operators and organization admins.{" "}
            {typeof refusal.code === "string" ? <code>({refusal.code})</code> : null}
          </p>
        )}
        <p>
          <a href={ENDPOINT.app}>Back to your account</a>
        </p>
      </Layout>,
      response.status === 401 ? 401 : 403,
    );
  }
  const me = (await response.json()) as Me;
  c.set("caller", {
    sessionToken: session.session.token,
    email: session.user.email,
    platformOperator: me.platform_operator,
    orgIds: me.org_ids ?? [],
  });
  await next();
};
