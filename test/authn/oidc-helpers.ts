import { env, exports } from "cloudflare:workers";
import { DEMO_MCP_SERVER, mcpResource } from "../../shared/contracts/mcp.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import type { OidcGrantsRpc } from "../../shared/contracts/oidc-grants.ts";
import { oidcDriver } from "../support/runtime/browser-oidc.ts";
import { tokenService } from "../../workers/authn/src/config.ts";
import { ORIGIN } from "./helpers.ts";

import { ASSERTING_CLIENT } from "../support/runtime/cimd-host/assertion-signer.ts";
import { pkce, REDIRECT_URI } from "../support/runtime/browser-oidc.ts";

export { pkce, REDIRECT_URI, type TokenResponse } from "../support/runtime/browser-oidc.ts";
export const ISSUER = ORIGIN;

/**
 * A token request as the token Worker hands it over: through the authn
 * Worker's OidcGrants RPC entrypoint (Better Auth's own token path is closed
 * to the internet). The token endpoint's own tests go through ENDPOINT.token
 * (test/token/oidc-token-endpoint.test.ts).
 */
async function viaOidcGrants(request: Request): Promise<Response> {
  const grants = (exports as unknown as { OidcGrants: OidcGrantsRpc }).OidcGrants;
  const answer = await grants.grant({
    form: await request.text(),
    authorization: request.headers.get("Authorization") ?? undefined,
    clientAddress: request.headers.get("cf-connecting-ip") ?? undefined,
  });
  return new Response(answer.body, { status: answer.status, headers: { "Content-Type": "application/json" } });
}

/** The authn Worker under test. */
export const oidc = oidcDriver({
  issuer: env.ISSUER,
  apiAudience: env.API_AUDIENCE,
  db: env.DB,
  authn: (request) => exports.default.fetch(request),
  tokenEndpoint: `${ORIGIN}${OIDC_ENDPOINT.token}`,
  token: viaOidcGrants,
  jwks: () => tokenService(env).jwks(),
});

/** Where the document client of test/support/runtime/cimd-host `/clients/private-key-jwt` is sent back. */
export const ASSERTING_CALLBACK = "https://client.example.test/callback";

/**
 * A new person's live code of that `private_key_jwt` document client
 * (ASSERTING_CLIENT) for the demo MCP server, consented to: the person, and
 * the token request's fields without the client's authentication.
 */
export async function assertingClientCode() {
  const person = await oidc.signUp();
  const { verifier, challenge } = await pkce();
  const resource = mcpResource(ISSUER, DEMO_MCP_SERVER.name);
  const request = oidc.codeRequest(ASSERTING_CLIENT, challenge, {
    redirect_uri: ASSERTING_CALLBACK,
    scope: "documents:read",
    nonce: undefined,
    resource,
  });
  const back = await oidc.authorizeAndConsent(request, person.cookie);
  const fields: Record<string, string> = {
    grant_type: "authorization_code",
    code: back.searchParams.get("code") ?? "",
    redirect_uri: ASSERTING_CALLBACK,
    code_verifier: verifier,
    resource,
  };
  return { person, fields };
}

type OidcClient = Awaited<ReturnType<typeof oidc.issuedTokens>>["client"];

/** A refresh at the provider (RFC 6749 §6) by the client that holds the token. */
export function refreshGrant(refreshToken: string, client: OidcClient): Promise<Response> {
  return oidc.tokenRequest(
    { grant_type: "refresh_token", refresh_token: refreshToken, redirect_uri: REDIRECT_URI },
    client,
  );
}

/** How many of the person's refresh tokens the provider would still honour. */
export async function liveRefreshTokens(userId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM oidc_refresh_token WHERE user_id = ? AND revoked IS NULL")
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

/**
 * Makes the database itself refuse to mark this person's refresh tokens
 * revoked, so the OAuth revocation batch fails and rolls back: a real
 * refusal of the real D1, not a stand-in. Returns the statement that lifts it.
 */
export async function refuseOAuthTokenRevocation(userId: string): Promise<() => Promise<unknown>> {
  const trigger = `refuse_revocation_${userId.replaceAll(/[^A-Za-z0-9]/g, "_")}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${trigger} BEFORE UPDATE OF revoked ON oidc_refresh_token WHEN OLD.user_id = '${userId.replaceAll("'", "''")}'
     BEGIN SELECT RAISE(ABORT, 'revocation refused by the test'); END`,
  ).run();
  return () => env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
}
