import type { Context } from "hono";
import { recordAuditInBackground } from "../../../../shared/audit/record-audit.ts";
import { HttpError, httpErrorResponse } from "../../../../shared/errors/http.ts";
import { OAuthError, toOAuthErrorResponse } from "../../../../shared/errors/oauth.ts";
import { BodyTooLargeError } from "../../../../shared/http/read-body.ts";
import { issuedEvent, refusedEvent } from "../audit/token-audit.ts";
import { authenticateClient } from "../clients/authenticate.ts";
import { tokenConfig } from "../config.ts";
import { dpopBindingOf, dpopNonceHeader, provenDpopKey } from "../dpop/token-request-binding.ts";
import type { DelegationGrantsRead } from "../grants/delegation-grants.ts";
import { grantHandler } from "../grants/registry.ts";
import type { GrantContext } from "../grants/types.ts";
import { MAX_TOKEN_REQUEST_BYTES, readTokenRequestForm, requireParam } from "../http/read-form.ts";
import { keysWithClientRead } from "../keys/database-key-resolver.ts";
import { keyStore } from "../keys/signing-keys.ts";
import { mintAccessToken } from "../mint/mint-access-token.ts";
import { forwardBrowserGrant, isBrowserGrant } from "../oidc/forward-browser-grant.ts";
import { RequestSpends } from "../replay/request-spends.ts";
import { tokenResponse } from "../tokens/token-response.ts";

type TokenContext = Context<{ Bindings: TokenEnv }>;

/**
 * POST ENDPOINT.token (RFC 6749 §3.2): read the form, look the grant type up
 * in the registry (grants/registry.ts), authenticate the client
 * (clients/authenticate.ts), decide the DPoP binding once for whatever the
 * grant mints (dpop/token-request-binding.ts), let the grant issue. Every
 * issue and every refusal is an audit event. A client assertion spent by a
 * request refused with 429 or 5xx before anything was issued is given back
 * (replay/request-spends.ts), so the client's retry may resend it.
 */
export async function tokenEndpoint(c: TokenContext): Promise<Response> {
  // Before any read that can allow a token: its `iat` (mint/mint-access-token.ts).
  const authorizedAtMs = Date.now();
  const env = c.env;
  const audit: { grant_type: string | null } = { grant_type: null };
  /** The authenticated client, for the audit of a refusal. */
  let clientId: string | null = null;
  const spends = new RequestSpends(env);
  try {
    const params = await readTokenRequestForm(c.req.raw);
    const grantType = requireParam(params, "grant_type");
    audit.grant_type = grantType;
    // The browser provider's grants are redeemed where its codes live (oidc/forward-browser-grant.ts),
    // after the same RFC 9449 checks as every grant's proof (§4.3 against ENDPOINT.token, the §8 nonce,
    // the §11.1 jti spent once): before the provider spends a code or a refresh token on the request.
    if (isBrowserGrant(grantType)) {
      await provenDpopKey({ method: c.req.method, headers: c.req.raw.headers }, { env, config: tokenConfig(env) });
      const answer = await forwardBrowserGrant(env, c.req.raw, params);
      for (const [name, value] of Object.entries(await nonceHeaders(env, c.req.raw.headers))) {
        answer.headers.set(name, value);
      }
      return answer;
    }
    // Before client authentication: an unknown grant costs no credential check.
    const grant = grantHandler(grantType);
    if (!grant) throw new OAuthError("unsupported_grant_type", "unsupported grant_type");
    const config = tokenConfig(env);
    const headers = c.req.raw.headers;
    // RFC 9449 §8: the proof before the client, so a nonce challenge spends no client assertion.
    const proven = await provenDpopKey({ method: c.req.method, headers }, { env, config });
    // Our keys (public) come with the client's own D1 read (clients/registry.ts), not after it.
    const keysRead = grant.verifiesOurTokens ? keysWithClientRead(env.DB) : undefined;
    const ourKeys = keysRead?.resolveKey;
    // And the delegation grants it will consult, in that same statement.
    const grantsSubject = grant.delegationSubject?.(params);
    let delegationGrantsRead: DelegationGrantsRead | undefined;
    const grantsOf =
      grantsSubject === undefined
        ? undefined
        : {
            subject: grantsSubject,
            deliver: (read: DelegationGrantsRead) => {
              delegationGrantsRead = read;
            },
          };
    // And whatever else the grant can start before it knows the client (it never throws).
    const prefetched = grant.prefetch?.(params, { env, config });
    const client = await authenticateClient(
      { params, headers },
      {
        env,
        config,
        spends,
        ...(keysRead ? { onPublishedKeys: keysRead.deliver } : {}),
        ...(grantsOf ? { delegationGrantsOf: grantsOf } : {}),
      },
    );
    keysRead?.readIfNotDelivered();
    // A public client (`none`) is named, not authenticated: anyone can send
    // its id, so its refusals stay anonymous (shared/audit aggregates those).
    if (client.method !== "none") clientId = client.clientId;
    const dpop = await dpopBindingOf(client, proven, env.DB);
    const keys = keyStore(env, config);
    const mint: GrantContext["mint"] = (request) =>
      mintAccessToken(keys, config.issuer, { ...request, confirmation: dpop }, authorizedAtMs);
    const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);
    const context: GrantContext = {
      env,
      config,
      mint,
      authorizedAtMs,
      waitUntil,
      ...(ourKeys ? { ourKeys } : {}),
      ...(prefetched ? { prefetched } : {}),
      ...(delegationGrantsRead ? { delegationGrantsRead } : {}),
      ...(dpop ? { confirmation: dpop } : {}),
    };
    const issued = await grant.handle({ params, client, headers }, context);
    // Signed: whatever fails from here, the assertion bought this token.
    spends.keep();
    c.executionCtx.waitUntil(recordAuditInBackground(env, issuedEvent(issued, "endpoint", audit)));
    return tokenResponse(issued, await nonceHeaders(env, c.req.raw.headers));
  } catch (error) {
    const response =
      error instanceof BodyTooLargeError
        ? httpErrorResponse("payload_too_large", `a token request is at most ${MAX_TOKEN_REQUEST_BYTES} bytes`)
        : error instanceof HttpError
          ? httpErrorResponse(error.code, error.description, error.headers)
          : toOAuthErrorResponse(error);
    await spends.settle(response.status);
    c.executionCtx.waitUntil(
      recordAuditInBackground(env, refusedEvent(error, response.status, "endpoint", audit, clientId)),
    );
    for (const [name, value] of Object.entries(await nonceHeaders(env, c.req.raw.headers, error))) {
      response.headers.set(name, value);
    }
    return response;
  }
}

/** RFC 9449 §8: the nonce a DPoP client needs next; none when config itself is what failed. */
async function nonceHeaders(env: TokenEnv, headers: Headers, error?: unknown): Promise<Record<string, string>> {
  let config: ReturnType<typeof tokenConfig>;
  try {
    config = tokenConfig(env);
  } catch {
    return {};
  }
  return (await dpopNonceHeader(config, { headers, error })) ?? {};
}
