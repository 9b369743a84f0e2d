import { Hono } from "hono";
import { recordAuditInBackground } from "../../../../shared/audit/record-audit.ts";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { SECOND_FACTOR_REQUIRED } from "../../../../shared/contracts/second-factor.ts";
import { VAULT_PATH } from "../../../../shared/contracts/vault.ts";
import { HttpError, httpErrorResponse, internalErrorResponse } from "../../../../shared/errors/http.ts";
import { tokenConfig } from "../config.ts";
import { completeConnect, startConnect } from "./connect-flow.ts";
import { connectionView } from "./connections.ts";
import { getProviderByName } from "./providers.ts";
import { sessionOwner } from "./session-owner.ts";
import { vaultSecret } from "./vault-key.ts";

const NO_STORE = { "Cache-Control": "no-store" };

/**
 * The vault's public paths (VAULT_PATH, below ENDPOINT-style `/vault`):
 *
 * - `GET /vault/connect/<provider>`: a signed-in person (session cookie)
 *   connects their own account at their active org's provider: 302 to the
 *   provider's authorization endpoint (PKCE S256, state bound to the
 *   session). No session: 303 to the sign-in page, as the console does (a
 *   navigation, which no WWW-Authenticate scheme could serve: RFC 9110
 *   §15.5.2 asks one of every 401); a session that has not passed its
 *   person's second factor: 303 to the step-up page; no such provider: 404.
 * - `GET /vault/callback`: the provider sends the browser back here; the
 *   tokens are saved, sealed, and only the connection's metadata is shown.
 * - anything else below `/vault`: 403 `saved_token_not_readable`. Saved
 *   tokens are never readable through any API, by anyone: they go only onto
 *   requests the gateway forwards (workers/token/src/vault/vault-service.ts).
 */
export function vaultFlowRoutes(): Hono<{ Bindings: TokenEnv }> {
  const vault = new Hono<{ Bindings: TokenEnv }>();
  vault.onError((error) =>
    error instanceof HttpError
      ? httpErrorResponse(error.code, error.description, NO_STORE)
      : internalErrorResponse("vault", error),
  );

  vault.get(`${VAULT_PATH.connect.slice(VAULT_PATH.base.length)}/:provider`, async (c) => {
    const owner = await sessionOwner(c.env.DB, tokenConfig(c.env).issuer, c.req.raw);
    if (!owner) return new Response(null, { status: 303, headers: { Location: ENDPOINT.signIn, ...NO_STORE } });
    // Signed in without the second factor its person turned on: the step-up page, as the account pages do.
    if (owner === SECOND_FACTOR_REQUIRED) {
      return new Response(null, { status: 303, headers: { Location: ENDPOINT.twoFactor, ...NO_STORE } });
    }
    const provider = await getProviderByName(c.env.DB, owner.orgId, c.req.param("provider"));
    if (!provider) throw new HttpError("not_found", "no such provider in your organization");
    const { authorizationUrl } = await startConnect(c.env.DB, vaultSecret(c.env), tokenConfig(c.env).issuer, {
      provider,
      ownerKind: "user",
      ownerId: owner.userId,
      binding: { session: owner.sessionId },
    });
    return new Response(null, { status: 302, headers: { Location: authorizationUrl, ...NO_STORE } });
  });

  vault.get(VAULT_PATH.callback.slice(VAULT_PATH.base.length), async (c) => {
    const owner = await sessionOwner(c.env.DB, tokenConfig(c.env).issuer, c.req.raw);
    const row = await completeConnect(
      c.env.DB,
      vaultSecret(c.env),
      tokenConfig(c.env).issuer,
      new URL(c.req.url),
      // A session short of its second factor finishes no flow (it could not have started one).
      owner === SECOND_FACTOR_REQUIRED ? undefined : owner,
    );
    c.executionCtx.waitUntil(
      recordAuditInBackground(c.env, {
        kind: "vault.connection_saved",
        outcome: "recorded",
        orgId: row.orgId,
        subject: row.ownerKind === "user" ? row.ownerId : null,
        clientId: row.createdBy.startsWith("operator:") ? row.createdBy.slice("operator:".length) : null,
        detail: {
          connection_id: row.id,
          provider_id: row.providerId,
          resource: row.resource,
          owner_kind: row.ownerKind,
        },
      }),
    );
    return c.json({ connected: true, connection: connectionView(row) }, 200, NO_STORE);
  });

  vault.all("*", () =>
    httpErrorResponse("saved_token_not_readable", "saved tokens are never given out; the gateway uses them", NO_STORE),
  );
  return vault;
}
