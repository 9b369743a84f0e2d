import type { MiddlewareHandler } from "hono";
import { authorizeParameters, refuseAuthorization } from "./authorize-refusal.ts";
import { codeChallengeProblem } from "./pkce-challenge.ts";
import { repeatedParameterProblem } from "./repeated-parameters.ts";
import { responseModeProblem } from "./response-mode.ts";

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

/**
 * OIDC_ENDPOINT.authorize, before Better Auth: the parameters it lets
 * through that the specifications refuse, refused as `invalid_request`
 * (authorize-refusal.ts: at the client's registered redirect URI when it is
 * one, RFC 6749 §4.1.2.1). A request object or request URI is left to Better
 * Auth, which supports neither and says so.
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
  return next();
};
