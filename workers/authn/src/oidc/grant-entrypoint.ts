import { WorkerEntrypoint } from "cloudflare:workers";
import type { Context } from "hono";
import type {
  BrowserGrantAnswer,
  BrowserGrantRequest,
  EndedBrowserGrant,
  OidcGrantsRpc,
} from "../../../../shared/contracts/oidc-grants.ts";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../../../shared/contracts/oidc.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { type RedeemedCode, spendRedeemedCodeGrant } from "../../../../shared/oidc/redeemed-code-grant.ts";
import { getAuth } from "../auth/create-auth.ts";
import { addressAs } from "./addressed-request.ts";
import {
  markGrantForm,
  presentedRedeemedCode,
  presentedRefreshGrant,
  recordCodeRedemption,
  type RefreshTokenGrant,
  revocationGrant,
  withEndedGrant,
  withReplayedCode,
  withReplayedGrant,
} from "./browser-grant.ts";
import { codeClientRefusal } from "./code-client-authentication.ts";
import { markGrantStart } from "./grant-start.ts";
import { refreshGrantStillHonoured } from "./refresh-introspection.ts";
import { storedTokenForm } from "./stored-token.ts";
import { authnConfig } from "../config.ts";

/**
 * The browser provider's token, revocation and introspection endpoints, for the token Worker only
 * (shared/contracts/oidc-grants.ts): the request it read is handed to Better
 * Auth's `/oauth2/token`, which authenticates the client, checks PKCE and
 * redeems the code once or rotates the refresh token; the tokens it signs go
 * through the issuer's signer (oidc/issuer-signer.ts). Better Auth's endpoint
 * sees the request at the issuer's endpoint the client addressed
 * (oidc/addressed-request.ts), so a DPoP proof is checked against that URL.
 */
export class OidcGrants extends WorkerEntrypoint<AuthnEnv> implements OidcGrantsRpc {
  /**
   * RFC 6749 §5; with the refresh token's grant when its reuse ended the
   * family (RFC 9700 §4.14.2), or the code's grant when the code was used
   * again (RFC 6749 §4.1.2). Both are read before Better Auth, which deletes
   * the rows they are read from as it refuses: the refresh token's row by the
   * token Worker, which needed it to take the grant's turn and hands it over
   * (`presented`), the code's here, inside that turn. A code redeemed without
   * a refresh token leaves its own row for that read (recordCodeRedemption).
   */
  async grant(request: BrowserGrantRequest): Promise<BrowserGrantAnswer> {
    const receivedAtMs = Date.now();
    const presented = await presentedRefreshGrant(this.env.DB, request);
    const { redeemed, refusal } = await codeGrantChecks(this.env, request);
    if (refusal) return refusal;
    const codeGrant = redeemed?.grant;
    const answer = await handOverToProvider(this.env, OIDC_ENDPOINT.token, request, receivedAtMs, presented);
    await recordCodeRedemption(this.env.DB, request, answer);
    const answered = withReplayedCode(withReplayedGrant(answer, presented), codeGrant);
    if (codeGrant && answered.endedGrant === codeGrant) await spendReplayedCode(this.env.DB, request, codeGrant);
    return answered;
  }

  /**
   * The checks `grant` makes before Better Auth, alone (`codeGrantChecks`):
   * reads only, nothing written, no DPoP or client assertion `jti` spent, and
   * a `private_key_jwt` assertion verified here too. The token Worker asks
   * before it takes the code's turn, so a request they refuse never waits
   * in it (workers/token/src/oidc/forward-browser-grant.ts).
   */
  async precheck(request: BrowserGrantRequest): Promise<BrowserGrantAnswer | undefined> {
    return (await codeGrantChecks(this.env, request, true)).refusal;
  }

  /** RFC 7009; with the refresh token's grant when it ended, for the token Worker to revoke its access tokens (§2.1). */
  async revoke(request: BrowserGrantRequest): Promise<BrowserGrantAnswer> {
    const { grant, handedOver } = await revocationGrant(this.env.DB, request);
    return withEndedGrant(await handOverToProvider(this.env, OIDC_ENDPOINT.revocation, handedOver, Date.now()), grant);
  }

  async introspect(request: BrowserGrantRequest): Promise<BrowserGrantAnswer> {
    const answer = await handOverToProvider(this.env, OIDC_ENDPOINT.introspection, request, Date.now());
    return refreshGrantStillHonoured(this.env.DB, request, answer);
  }
}

/**
 * RFC 6749 §3.2.1 and §4.1.3, RFC 7636 §4.6, RFC 9449 §10: a code grant's
 * client, redirect URI, PKCE verifier and DPoP binding, checked before
 * Better Auth spends the code or acts on its replay
 * (oidc/code-client-authentication.ts), with the redeemed code's row read
 * for it. One function for `grant` and `precheck`, so the early answer is
 * the one the turn would give. Reads only: the DPoP proof is verified with
 * no replay store (oidc/live-code-dpop.ts). `early` (precheck only): a
 * `private_key_jwt` assertion naming the code's client is verified too,
 * its `jti` unspent (oidc/live-code-assertion.ts); inside the turn Better
 * Auth verifies it and spends the `jti`.
 */
async function codeGrantChecks(
  env: AuthnEnv,
  request: BrowserGrantRequest,
  early = false,
): Promise<{ redeemed: RedeemedCode | undefined; refusal: BrowserGrantAnswer | undefined }> {
  const redeemed = await presentedRedeemedCode(env.DB, request);
  return { redeemed, refusal: await codeClientRefusal(env, request, redeemed, early) };
}

/**
 * A replay spends the row its code's redemption left, as Better Auth spends
 * the rows it stored on the code, in the same D1 batch that owes the
 * grant's cut-off (shared/oidc/redeemed-code-grant.ts): the cut-off is
 * handed back with this answer for the token Worker to record, and the
 * next replay records nothing. A batch that fails is logged and leaves the
 * row: the token Worker still owes and records the cut-off, and should it
 * fail at both, the next replay reads the row again.
 */
async function spendReplayedCode(
  db: D1Database,
  request: BrowserGrantRequest,
  grant: EndedBrowserGrant,
): Promise<void> {
  const code = new URLSearchParams(typeof request?.form === "string" ? request.form : "").get("code") ?? "";
  await spendRedeemedCodeGrant(db, grant, await storedTokenForm(code)).catch((error: unknown) => {
    console.error("replayed code's cut-off not owed, its redeemed_code_grant row kept", error);
  });
}

/** The issuer's endpoint (RFC 8414 metadata) a client sent the request to, by the provider's path it is handed to. */
const ADVERTISED: Readonly<Record<string, string>> = {
  [OIDC_ENDPOINT.token]: ENDPOINT.token,
  [OIDC_ENDPOINT.revocation]: ENDPOINT.revocation,
};

/**
 * One grant or revocation request, received at `receivedAtMs`, handed to
 * Better Auth: the moment is what the access token's `iat` says
 * (oidc/grant-start.ts). `presented`: a refresh grant's token row, read
 * before (oidc/browser-grant.ts), so the signer reads its grant no second time.
 */
export async function handOverToProvider(
  env: AuthnEnv,
  path: string,
  request: BrowserGrantRequest,
  receivedAtMs: number,
  presented?: RefreshTokenGrant,
): Promise<BrowserGrantAnswer> {
  const headers = new Headers({ "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" });
  // An RPC caller is another Worker, but its argument is still checked.
  if (typeof request?.authorization === "string") headers.set("Authorization", request.authorization);
  if (typeof request?.dpop === "string") headers.set("DPoP", request.dpop);
  if (typeof request?.clientAddress === "string") headers.set("cf-connecting-ip", request.clientAddress);
  const issuer = authnConfig(env).issuer;
  const form = typeof request?.form === "string" ? request.form : "";
  const handed = new Request(`${issuer}${path}`, { method: "POST", headers, body: form });
  // Which grant the access token rests on (oidc/browser-grant.ts), as the signer will ask.
  const params = new URLSearchParams(form);
  markGrantStart(handed, receivedAtMs);
  markGrantForm(handed, params, presented);
  const advertised = ADVERTISED[path];
  if (advertised !== undefined) {
    // The endpoint (and the signer, through its context) sees this one.
    const addressed = addressAs(handed, `${issuer}${advertised}`, form);
    markGrantStart(addressed, receivedAtMs);
    markGrantForm(addressed, params, presented);
  }
  const answer = await getAuth(env).handler(handed);
  return { status: answer.status, body: await answer.text() };
}

/**
 * Better Auth's own token, revocation and introspection paths, from the
 * internet: not found. The issuer's are ENDPOINT.token, ENDPOINT.revocation
 * and ENDPOINT.introspection (RFC 8414 `token_endpoint`,
 * `revocation_endpoint`, `introspection_endpoint`), which reach the provider
 * over RPC or check the issuer's revocations themselves, after their rate
 * limits, and audit.
 */
export function closedTokenPath(c: Context): Response {
  return httpErrorResponse("not_found", `use the issuer's own endpoint, not ${c.req.path}`);
}
