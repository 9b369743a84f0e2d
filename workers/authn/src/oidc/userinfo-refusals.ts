import type { MiddlewareHandler } from "hono";
import { REALM } from "../../../../shared/contracts/endpoints.ts";
import { type BearerErrorCode, bearerErrorResponse } from "../../../../shared/errors/bearer.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { COMPACT_JWS } from "../../../../shared/jwt/compact-jws.ts";
import { type Presented, presentedTokens } from "./userinfo-revocation.ts";

type UserinfoContext = { Bindings: AuthnEnv; Variables: { body: Uint8Array<ArrayBuffer> } };

/** RFC 6750 §3.1 / RFC 9449 §7.1 codes a challenge may carry as Better Auth sent them. */
const CHALLENGE_CODES: ReadonlySet<string> = new Set<BearerErrorCode>([
  "invalid_token",
  "insufficient_scope",
  "invalid_dpop_proof",
  "use_dpop_nonce",
]);

/**
 * Better Auth's own refusals at userinfo (OIDC Core §5.3.3, RFC 6750 §3),
 * rewritten to the challenge every other refusal of ours carries
 * (shared/errors/bearer.ts, `realm` included): its 401s for a token it does
 * not know (a refresh token presented as the bearer, an unknown opaque
 * token, a failed DPoP binding) said `Bearer error=…` without a realm, and
 * its answer to a request with no token at all named no challenge. So:
 * - no token presented: `401` with `Bearer realm="…"` and no error code
 *   (RFC 6750 §3.1: a request without credentials gets none);
 * - a 401 or 403: the same status's RFC 6750 code (Better Auth's own when it
 *   is one, else `invalid_token` / `insufficient_scope`), in the scheme the
 *   token was presented with (RFC 9449 §7.1);
 * - its `400 invalid_request` (a token sent in the header and the body at
 *   once, RFC 6750 §2): the same code with the challenge (§3.1), in the
 *   header's scheme;
 * - its `400 invalid_scope` for a token without `openid` (OIDC Core §5.3:
 *   userinfo needs it) is RFC 6750 §3.1 `403 insufficient_scope`, `scope="openid"`;
 * - a failure of its own JWKS fetch while it verifies a JWT access token
 *   (auth/plugins/oauth-provider.ts `remoteUrl`: unreachable, failing, or a
 *   set without the token's key) was a bare 500: the token already passed
 *   our verification with the issuer's keys (oidc/userinfo-revocation.ts),
 *   so it is the key source that failed, and the answer is userinfo's own
 *   `503 temporarily_unavailable` with `Retry-After`, as for revocation state it cannot read.
 * Its 200s, and the refusals that carry our realm already, pass unchanged.
 * Mounted inside the origin policy (index.ts), so CORS headers still apply.
 */
/** Long enough for a failing JWKS fetch to be tried afresh, short for a person waiting on a sign-in. */
const USERINFO_RETRY_AFTER_SECONDS = 5;

export const userinfoRefusals: MiddlewareHandler<UserinfoContext> = async (c, next) => {
  await next();
  const answered = c.res;
  if (answered.status < 400 || c.error) return;
  if (answered.headers.get("WWW-Authenticate")?.includes("realm=")) return;
  const presented = presentedTokens(c.req.raw, c.var.body);
  if (presented === "repeated") return;
  const rewritten = await ourAnswer(answered, presented);
  if (!rewritten) return;
  // Hono's `c.res =` copies the old response's headers over the new one's
  // (Better Auth's realm-less challenge would win): drop it first.
  c.res = undefined;
  c.res = rewritten;
};

async function ourAnswer(answered: Response, presented: Presented[]): Promise<Response | undefined> {
  if (answered.status >= 500) {
    if (!presented.some(({ token }) => COMPACT_JWS.test(token))) return undefined;
    console.error("userinfo: Better Auth failed verifying a JWT we verified", answered.status);
    // Any 5xx of Better Auth's, though its JWKS fetch is the one this has seen: the token
    // passed our own checks, so a short wait is all a client can do (RFC 9110 §10.2.3).
    return httpErrorResponse("temporarily_unavailable", "the issuer could not check this token now, retry", {
      "Retry-After": String(USERINFO_RETRY_AFTER_SECONDS),
    });
  }
  const body = (await answered
    .clone()
    .json()
    .catch(() => ({}))) as { error?: unknown; error_description?: unknown };
  const error = typeof body.error === "string" ? body.error : undefined;
  const description = typeof body.error_description === "string" ? body.error_description : undefined;
  const scheme = presented[0]?.scheme ?? "Bearer";
  if (answered.status === 400) {
    // RFC 6750 §3.1 invalid_request (a token in the header and in the body at once, §2) is a
    // challenge of its own, 400, as our refusal of a repeated access_token is (userinfo-revocation.ts).
    if (error === "invalid_request" && presented.length > 0) {
      return bearerErrorResponse({ scheme, realm: REALM, error: "invalid_request", description: description ?? error });
    }
    if (error !== "invalid_scope") return undefined;
    return bearerErrorResponse({
      scheme,
      realm: REALM,
      error: "insufficient_scope",
      description: "userinfo requires the openid scope",
      scope: "openid",
    });
  }
  if (answered.status !== 401 && answered.status !== 403) return undefined;
  if (presented.length === 0) return bearerErrorResponse({ realm: REALM });
  const code: BearerErrorCode =
    error && CHALLENGE_CODES.has(error)
      ? (error as BearerErrorCode)
      : answered.status === 403
        ? "insufficient_scope"
        : "invalid_token";
  const rewritten = bearerErrorResponse({ scheme, realm: REALM, error: code, description: description ?? code });
  // RFC 9449 §9: a nonce the client must use next goes with the challenge.
  const nonce = answered.headers.get("DPoP-Nonce");
  if (nonce) rewritten.headers.set("DPoP-Nonce", nonce);
  return rewritten;
}
