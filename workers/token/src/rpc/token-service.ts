import { WorkerEntrypoint } from "cloudflare:workers";
import { recordAuditInBackground } from "../../../../shared/audit/record-audit.ts";
import type {
  BrowserTokenSigningRequest,
  BrowserTokenSigningResult,
  SessionExchangeRequest,
  TokenServiceResult,
  TokenServiceRpc,
} from "../../../../shared/contracts/token-service.ts";
import { GRANT_TYPE, TOKEN_TYPE } from "../../../../shared/contracts/tokens.ts";
import { issuedEvent, refusedEvent } from "../audit/token-audit.ts";
import { tokenConfig } from "../config.ts";
import { databaseJwks } from "../keys/jwks.ts";
import { keyStore } from "../keys/signing-keys.ts";
import { signAsIssuer } from "../oidc/issuer-signing.ts";
import { browserTokenIssuedEvent } from "../oidc/sign-browser-token.ts";
import { findVersion } from "../policies/versions.ts";
import { exchangeSession } from "../sessions/exchange-session.ts";
import { tokenServiceFailure, tokenServiceSuccess } from "../tokens/token-response.ts";

const SESSION_EXCHANGE_AUDIT = {
  grant_type: GRANT_TYPE.tokenExchange,
  subject_token_type: TOKEN_TYPE.session,
} as const;

/**
 * The token Worker's RPC entrypoint (shared/contracts/token-service.ts).
 * Only Workers holding a service binding with `entrypoint = "TokenService"`
 * reach it; the gateway routes public paths to `fetch`, never here.
 */
export class TokenService extends WorkerEntrypoint<TokenEnv> implements TokenServiceRpc {
  async exchangeSession(request: SessionExchangeRequest): Promise<TokenServiceResult> {
    let result: TokenServiceResult;
    try {
      const config = tokenConfig(this.env);
      const issued = await exchangeSession(this.env, config, {
        // An RPC caller is another Worker, but its argument is still checked.
        sessionToken: typeof request?.sessionToken === "string" ? request.sessionToken : "",
        audience: typeof request?.audience === "string" ? request.audience : undefined,
        scope: typeof request?.scope === "string" ? request.scope : undefined,
      });
      this.ctx.waitUntil(recordAuditInBackground(this.env, issuedEvent(issued, "rpc", SESSION_EXCHANGE_AUDIT)));
      result = tokenServiceSuccess(issued);
    } catch (error) {
      result = tokenServiceFailure(error);
      this.ctx.waitUntil(
        recordAuditInBackground(this.env, refusedEvent(error, result.status, "rpc", SESSION_EXCHANGE_AUDIT)),
      );
    }
    return result;
  }

  async jwks(): Promise<{ keys: JsonWebKey[] }> {
    const jwks = await databaseJwks(keyStore(this.env, tokenConfig(this.env)));
    return { keys: jwks.keys as JsonWebKey[] };
  }

  async policySnapshot(orgId: string, version: number): Promise<string | null> {
    // An RPC caller is another Worker, but its arguments are still checked.
    if (typeof orgId !== "string" || orgId === "" || !Number.isSafeInteger(version) || version < 1) return null;
    // Any stored version: the object names one current before D1 records it published (policies/publish.ts).
    return (await findVersion(this.env.DB, orgId, version))?.documentJson ?? null;
  }

  async signBrowserToken(request: BrowserTokenSigningRequest): Promise<BrowserTokenSigningResult> {
    const config = tokenConfig(this.env);
    const result = await signAsIssuer(this.env, config, request);
    if (result.ok && request.kind === "access_token") {
      this.ctx.waitUntil(recordAuditInBackground(this.env, browserTokenIssuedEvent(request.claims)));
    }
    return result;
  }
}
