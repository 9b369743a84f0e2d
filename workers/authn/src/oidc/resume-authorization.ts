import type { Context, MiddlewareHandler } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../../../shared/contracts/oidc.ts";
import { SECOND_FACTOR_REQUIRED } from "../../../../shared/contracts/second-factor.ts";
import { keepForSignIn, keepWhenSentToSignIn } from "../resume/after-sign-in.ts";

type AuthorizeContext = Context<{ Bindings: AuthnEnv }>;

function authorizationTarget(c: AuthorizeContext): string | undefined {
  const query = new URL(c.req.url).search;
  return query.length > 1 ? `${OIDC_ENDPOINT.authorize}${query}` : undefined;
}

const keepWhenSignedOut = keepWhenSentToSignIn("authorize", authorizationTarget);

/** Better Auth's refusal of a session short of its person's second factor (auth/plugins/two-factor.ts). */
export async function refusedForSecondFactor(response: Response): Promise<boolean> {
  if (response.status !== 403) return false;
  const body = (await response
    .clone()
    .json()
    .catch(() => ({}))) as { code?: unknown };
  return body.code === SECOND_FACTOR_REQUIRED;
}

/**
 * GET OIDC_ENDPOINT.authorize: when Better Auth sends a person who is not
 * signed in to the sign-in page (302), the authorization request is kept
 * (resume/after-sign-in.ts) so that after signing in (or up, with a second
 * factor or not) they come back to it from /app instead of stopping there.
 * The authorize endpoint then checks it all again (client, exact redirect
 * URI, PKCE) and asks for consent.
 *
 * A session already there but short of its person's second factor (a social
 * or SSO sign-in) is refused by the two-factor plugin with a JSON 403 that
 * left the person stranded and the request lost. It is kept as well and the
 * browser goes to the step-up page (as the vault's connect route does), from
 * which /app resumes it. Except for `prompt=none` (OIDC Core §3.1.2.1: no
 * page may be shown): nothing is kept, and the refusal goes to the client as
 * `login_required` (oidc/authorize-request-checks.ts).
 */
export const rememberAuthorization: MiddlewareHandler<{ Bindings: AuthnEnv }> = async (c, next) => {
  await keepWhenSignedOut(c, next);
  if (c.req.method !== "GET") return;
  const target = authorizationTarget(c);
  if (target === undefined) return;
  if (c.req.query("prompt")?.split(" ").includes("none")) return;
  if (!(await refusedForSecondFactor(c.res))) return;
  // Replace the answer first: the kept cookie goes onto the redirect.
  c.res = undefined;
  c.res = new Response(null, { status: 303, headers: { Location: ENDPOINT.twoFactor, "Cache-Control": "no-store" } });
  await keepForSignIn(c, "authorize", target);
};
