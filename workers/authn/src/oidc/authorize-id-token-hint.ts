import { getAuth } from "../auth/create-auth.ts";
import { authnConfig, tokenService } from "../config.ts";
import type { AuthorizeErrorCode } from "./authorize-refusal.ts";
import { single } from "./authorize-refusal.ts";
import { ISSUER_KEYS } from "./issuer-keys.ts";
import { verifiedIdTokenHint } from "./logout-hint.ts";

export interface HintProblem {
  error: AuthorizeErrorCode;
  description: string;
}

/**
 * OIDC Core §3.1.2.1 `id_token_hint`: the relying party names the person
 * whose session it expects. "If the End-User identified by the ID Token is
 * logged in or is logged in by the request, then the Authorization Server
 * returns a positive response; otherwise, it SHOULD return an error, such as
 * login_required." Better Auth ignores the parameter, so a browser signed in
 * as someone else got a code for that someone, with prompt=none without the
 * person seeing anything, and a client that trusted its hint took another
 * person's identity. So:
 * - a hint that is not an ID token of ours for this client (verified as at
 *   RP-initiated logout, oidc/logout-hint.ts: ES256, `typ` JWT, the issuer's
 *   key, `iss`, `aud` the request's `client_id`; its `exp` may have passed)
 *   is an invalid parameter value, `invalid_request` (RFC 6749 §4.1.2.1).
 *   That includes one of ours whose key was retired since: nothing can
 *   tell any more whom it names, and unlike at logout (where such a hint is
 *   dropped and the person asked, RP-Initiated Logout 1.0 §2, §4) dropping
 *   it here would answer with whoever is signed in, silently under
 *   prompt=none — the very thing the client sent the hint to rule out. A
 *   positive response needs "the End-User identified by the ID Token"
 *   (§3.1.2.1), so the client is told, and asks again without the hint (or
 *   with a fresh one);
 * - a session of another person is `login_required`.
 * No session: the provider sends the person to sign in (or answers
 * prompt=none with `login_required` itself), and the request, resumed after
 * the sign-in (resume/after-sign-in.ts), is checked here again.
 */
export async function idTokenHintProblem(
  env: AuthnEnv,
  request: Request,
  params: URLSearchParams,
): Promise<HintProblem | undefined> {
  const hint = single(params, "id_token_hint");
  // OIDC Core §3.1.2.1: an empty parameter is as if absent (a repeated one was refused before).
  if (!hint) return undefined;
  const named = await verifiedIdTokenHint(hint, {
    issuer: authnConfig(env).issuer,
    clientId: single(params, "client_id") ?? "",
    resolveKey: ISSUER_KEYS.resolver(tokenService(env)),
  });
  if (!named) {
    return {
      error: "invalid_request",
      description: "id_token_hint is not an ID token this provider issued to this client",
    };
  }
  const session = await getAuth(env).api.getSession({ headers: request.headers });
  if (!session || session.user.id === named.sub) return undefined;
  return { error: "login_required", description: "the person signed in is not the one the id_token_hint names" };
}
