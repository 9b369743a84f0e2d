import type { Context } from "hono";
import { recordAuditInBackground } from "../../../shared/audit/record-audit.ts";
import { GRANT_TYPE, TOKEN_TYPE } from "../../../shared/contracts/tokens.ts";
import { NO_STORE_HEADERS, OAuthError, toOAuthErrorResponse } from "../../../shared/errors/oauth.ts";
import { exchangeSessionForAccessToken } from "./grants/token-exchange.ts";
import { readTokenRequestForm, requireParam } from "./http/read-form.ts";
import { tokenSettings } from "./settings.ts";

type TokenContext = Context<{ Bindings: TokenEnv }>;

/**
 * POST /oauth2/token (RFC 6749 §3.2). Dispatches on grant_type; later
 * issues add client_credentials, jwt-bearer (ID-JAG) and more exchanges.
 * Every issue and every refusal is an audit event.
 */
export async function tokenEndpoint(c: TokenContext): Promise<Response> {
  const env = c.env;
  let grantType: string | undefined;
  try {
    const params = await readTokenRequestForm(c.req.raw);
    grantType = requireParam(params, "grant_type");
    if (grantType !== GRANT_TYPE.tokenExchange) {
      throw new OAuthError("unsupported_grant_type", `grant_type ${grantType} is not supported`);
    }
    const settings = tokenSettings(env);
    const { minted, scope } = await exchangeSessionForAccessToken(env, settings, params);
    c.executionCtx.waitUntil(
      recordAuditInBackground(env, {
        kind: "token.issued",
        outcome: "issued",
        orgId: minted.claims.org_id,
        subject: minted.claims.sub,
        clientId: minted.claims.client_id,
        detail: {
          jti: minted.claims.jti,
          grant_type: grantType,
          aud: audienceOf(minted.claims.aud),
          scope,
          exp: minted.claims.exp,
        },
      }),
    );
    // RFC 8693 §2.2.1
    return new Response(
      JSON.stringify({
        access_token: minted.token,
        issued_token_type: TOKEN_TYPE.accessToken,
        token_type: "Bearer",
        expires_in: minted.expiresIn,
        scope,
      }),
      { status: 200, headers: { "Content-Type": "application/json", ...NO_STORE_HEADERS } },
    );
  } catch (error) {
    const response = toOAuthErrorResponse(error);
    c.executionCtx.waitUntil(
      recordAuditInBackground(env, {
        kind: "token.refused",
        outcome: "refused",
        detail: {
          grant_type: grantType ?? null,
          error: error instanceof OAuthError ? error.code : "server_error",
          status: response.status,
        },
      }),
    );
    return response;
  }
}

function audienceOf(aud: string | string[]): string {
  return Array.isArray(aud) ? aud.join(" ") : aud;
}
