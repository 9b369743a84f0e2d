import type { MiddlewareHandler } from "hono";
import { idTokenHintProblem } from "./authorize-id-token-hint.ts";
import { authorizeParameters, refuseAuthorization, single } from "./authorize-refusal.ts";
import { codeChallengeProblem } from "./pkce-challenge.ts";
import { repeatedParameterProblem } from "./repeated-parameters.ts";
import { responseModeProblem } from "./response-mode.ts";
import { refusedForSecondFactor } from "./resume-authorization.ts";

/**
 * Each returns what is wrong with the request, or undefined; the first problem found is the answer.
 * The response mode first: it decides how any answer could be delivered. Then repeats, before any
 * check that reads a parameter's one value.
 */
const CHECKS: readonly ((params: URLSearchParams) => string | undefined)[] = [
  responseModeProblem,
  repeatedParameterProblem,
  codeChallengeProblem,
];

/** The request's `prompt` values (OIDC Core §3.1.2.1: space-delimited; a repeated one was refused before). */
function prompts(params: URLSearchParams): string[] {
  return (single(params, "prompt") ?? "").split(" ").filter(Boolean);
}

/**
 * OIDC_ENDPOINT.authorize, before Better Auth: the parameters it lets
 * through that the specifications refuse, refused as `invalid_request`
 * (authorize-refusal.ts: at the client's registered redirect URI when it is
 * one, RFC 6749 §4.1.2.1). A request object or request URI is left to Better
 * Auth, which supports neither and says so.
 *
 * Two OIDC Core §3.1.2.1 `prompt` values Better Auth answered where the
 * client never hears of it (§3.1.2.6 sends the error to the redirect URI):
 * - `select_account`: it showed its error page with a code of its own
 *   (`unsupported_prompt_select_account`) to a person whose client and
 *   redirect URI were fine. This provider keeps one account per browser and
 *   has no account chooser, and the clause says that an OP that cannot obtain
 *   the choice "MUST return an error, typically account_selection_required".
 * - `none` from a session short of its person's second factor: the
 *   two-factor plugin's JSON 403 (oidc/resume-authorization.ts keeps other
 *   requests and sends the browser to step up), which a silent-authentication
 *   frame waits on for ever. The second factor is part of signing in, and
 *   `none` forbids the page that would ask for it: `login_required`.
 */
export const checkAuthorizeRequest: MiddlewareHandler<{
  Bindings: AuthnEnv;
  Variables: { body: Uint8Array<ArrayBuffer> };
}> = async (c, next) => {
  const params = authorizeParameters(c);
  if (!params || params.has("request") || params.has("request_uri")) return next();
  for (const check of CHECKS) {
    const problem = check(params);
    if (problem !== undefined) return refuseAuthorization(c, params, problem);
  }
  if (prompts(params).includes("select_account")) {
    const description = "this provider cannot ask for an account choice (OIDC Core §3.1.2.1 select_account)";
    return refuseAuthorization(c, params, description, "account_selection_required");
  }
  // OIDC Core §3.1.2.1: the person the relying party expects, or an error (oidc/authorize-id-token-hint.ts).
  const hinted = await idTokenHintProblem(c.env, c.req.raw, params);
  if (hinted) return refuseAuthorization(c, params, hinted.description, hinted.error);
  await next();
  if (!prompts(params).includes("none") || !(await refusedForSecondFactor(c.res))) return;
  const refusal = await refuseAuthorization(
    c,
    params,
    "the session has not passed its second factor",
    "login_required",
  );
  // Hono's `c.res =` merges the old response's headers into the new one: drop it first.
  c.res = undefined;
  c.res = refusal;
};
