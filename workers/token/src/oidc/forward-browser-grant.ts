import { OIDC_GRANT_TYPE } from "../../../../shared/contracts/oidc.ts";
import type {
  BrowserGrantRequest,
  EndedBrowserGrant,
  OidcGrantsBinding,
} from "../../../../shared/contracts/oidc-grants.ts";
import { storedTokenForm } from "../../../../shared/oidc/stored-token.ts";
import { endGrantAccessTokens } from "./grant-cutoff.ts";
import { grantTurn, oneUseAtATime } from "./grant-turns.ts";
import { namedClient } from "./named-client.ts";
import { NO_STORE_HEADERS, OAuthError, type OAuthErrorCode } from "../../../../shared/errors/oauth.ts";
import { describedValue } from "../http/read-form.ts";
import { tokenConfig } from "../config.ts";
import { requireBrowserProviderProof } from "../dpop/browser-provider-proof.ts";

/** Grants of the browser OpenID provider (the authn Worker's Better Auth `oauth-provider`). */
export const BROWSER_GRANT_TYPES: readonly string[] = [OIDC_GRANT_TYPE.authorizationCode, OIDC_GRANT_TYPE.refreshToken];

export function isBrowserGrant(grantType: string): boolean {
  return BROWSER_GRANT_TYPES.includes(grantType);
}

/**
 * The one issuer has one token endpoint (RFC 8414 §2 `token_endpoint`), but
 * the browser provider's codes, PKCE verifiers, consents and refresh-token
 * families live in the authn Worker. Its grants are handed to it over the
 * OIDC_GRANTS binding (the authn Worker's `OidcGrants` RPC entrypoint,
 * shared/contracts/oidc-grants.ts) with the client's own credentials
 * (Authorization, DPoP) and the form as read here; it authenticates the client, redeems the
 * code or rotates the refresh token, and the token Worker signs the result
 * (oidc/sign-browser-token.ts, which audits each access token). A success
 * is passed on; a refusal is thrown as the OAuthError it amounts to, so the
 * endpoint answers and audits it like any other grant's (endpoints/token.ts).
 */
export async function forwardBrowserGrant(
  env: TokenEnv,
  request: Request,
  params: ReadonlyMap<string, string>,
): Promise<Response> {
  // A proof Better Auth would refuse is refused here, with our code, before any turn or pre-check.
  requireBrowserProviderProof(request.headers, tokenConfig(env));
  const optional = (name: string) => request.headers.get(name) ?? undefined;
  const grantType = params.get("grant_type") ?? "";
  const code = grantType === OIDC_GRANT_TYPE.authorizationCode;
  const handed: BrowserGrantRequest = {
    form: new URLSearchParams([...params]).toString(),
    authorization: optional("Authorization"),
    dpop: optional("DPoP"),
    clientAddress: optional("cf-connecting-ip"),
  };
  // A code's turn holds MAX_TURN_WAITERS requests (shared/contracts/replay.ts) and refuses any more at
  // once, so requests the authn Worker's pre-checks refuse (RFC 6749 §3.2.1 and §4.1.3, RFC 7636 §4.6:
  // no client, another client, a wrong secret, redirect URI or verifier) are refused before they take
  // it: else whoever holds an intercepted live code could keep it full and fail the person's own
  // redemption. The checks are asked again inside the turn, as state may change between the two reads;
  // they only refuse, so an early read that is stale refuses only what, read then, was refused: the
  // request is answered as if it came first, and nothing was spent. A `private_key_jwt` assertion naming
  // the code's client is verified there as Better Auth verifies it (RFC 7523 §3), its jti left for
  // Better Auth to spend inside the turn, so forged ones are refused here too; docs/authn.md.
  if (code) {
    const early = await oidcGrants(env).precheck(handed);
    if (early) throw restatedError(early.body);
  }
  // One request at a time per grant, so a replay always sees what the first use yielded and no
  // refresh writes a successor after its family was ended (grant-turns.ts).
  const turn = await grantTurn(env, grantType, params.get(code ? "code" : "refresh_token"));
  const answer = await oneUseAtATime(env, turn, () =>
    oidcGrants(env).grant({ ...handed, ...(turn.presented !== undefined ? { presented: turn.presented } : {}) }),
  );
  if (answer.status === 200) {
    return new Response(answer.body, {
      status: 200,
      headers: { "Content-Type": "application/json", ...NO_STORE_HEADERS },
    });
  }
  await endReplayedGrant(env, request, params, answer.endedGrant);
  throw restatedError(answer.body);
}

/**
 * RFC 9700 §4.14.2: a refresh token used after it was rotated away or
 * revoked has leaked; Better Auth ended its family, and the access tokens of
 * its grant end too (the thief's from the successor included), as at
 * revocation (grant-cutoff.ts). RFC 6749 §4.1.2 likewise for a code used
 * more than once: Better Auth deleted the tokens stored on it, and the JWT
 * access tokens of its grant end here. The refusal stands whatever happens:
 * the rows the grant is read from are gone and no retry could read it again,
 * so the cut-off is owed first (D1 `owed_grant_cutoff`, grant-cutoff.ts)
 * and one the org's object does not take is the cron's to record
 * (owed-grant-cutoffs.ts).
 */
async function endReplayedGrant(
  env: TokenEnv,
  request: Request,
  params: ReadonlyMap<string, string>,
  grant: EndedBrowserGrant | undefined,
): Promise<void> {
  const named = grant ? namedClient(params, request.headers) : undefined;
  if (!grant || !named) return;
  const code = params.get("grant_type") === OIDC_GRANT_TYPE.authorizationCode;
  // A replayed code reaches Better Auth (which ends the grant's stored
  // tokens before it authenticates anyone) only from the client the code was
  // issued to, authenticated first by the authn Worker when it has a secret
  // (RFC 6749 §3.2.1, §4.1.3; a private_key_jwt assertion must name it, and
  // Better Auth verifies it): its JWT access tokens end with the stored ones. A reused
  // refresh token ends its family only for its own client, another client's
  // being refused without touching it.
  const clientId = code ? grant.clientId : named;
  const presented = await storedTokenForm(params.get(code ? "code" : "refresh_token") ?? "");
  try {
    const replayed = code ? "authorization code replay" : "refresh token reuse";
    await endGrantAccessTokens(env, clientId, grant, `${replayed} by ${named}`, presented);
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
  }
}

/** `wrangler types` sees a plain Fetcher; the contract gives the binding its RPC shape. */
export function oidcGrants(env: Pick<TokenEnv, "OIDC_GRANTS">): OidcGrantsBinding {
  return env.OIDC_GRANTS as unknown as OidcGrantsBinding;
}

const KNOWN_CODES: ReadonlySet<string> = new Set<OAuthErrorCode>([
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "unauthorized_client",
  "unsupported_grant_type",
  "invalid_scope",
  "invalid_target",
  "invalid_dpop_proof",
  "use_dpop_nonce",
]);

/** Most characters of an authn Worker refusal's description restated; its fixed texts are all shorter. */
const MAX_RESTATED_DESCRIPTION_LENGTH = 256;

/** Better Auth's descriptions of a grant it refuses (RFC 6749 §5.2 `invalid_grant`), whatever code it gives them. */
const INVALID_GRANT_DESCRIPTIONS: ReadonlySet<string> = new Set([
  "code verification failed",
  "session no longer exists",
]);

/**
 * Better Auth's refusal, in our terms. RFC 7636 §4.6: a `code_verifier` that
 * does not match the challenge is `invalid_grant` (Better Auth says
 * `invalid_request` with a 401). A code whose person was deleted before it
 * was redeemed (SCIM deprovisioning, a deleted account) is Better Auth's
 * `invalid_user`, no RFC 6749 §5.2 code: the grant is no longer valid, so
 * `invalid_grant`, where it had been our 500. So is a code whose session
 * ended before it was redeemed (the person signed out): Better Auth says
 * `invalid_request`, which tells the client its request was malformed, not
 * that the grant was revoked and the flow must start again. Anything we
 * cannot read is our fault.
 */
export function restatedError(text: string): OAuthError {
  let body: { error?: unknown; error_description?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // Not JSON: our fault, below.
  }
  // RFC 6749 §5.2's characters only: Better Auth and the authn Worker's pre-checks repeat what the
  // client sent (an assertion's `alg`, a client id, a scope), quotes and bidi overrides included.
  const description =
    typeof body.error_description === "string"
      ? describedValue(body.error_description, MAX_RESTATED_DESCRIPTION_LENGTH)
      : "refused";
  if (INVALID_GRANT_DESCRIPTIONS.has(description) || body.error === "invalid_user") {
    return new OAuthError("invalid_grant", description);
  }
  if (typeof body.error === "string" && KNOWN_CODES.has(body.error)) {
    return new OAuthError(body.error as OAuthErrorCode, description);
  }
  console.error("browser grant failed", body.error);
  return new OAuthError("server_error", "internal error");
}
