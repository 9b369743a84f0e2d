import type {
  BrowserTokenSigningRequest,
  BrowserTokenSigningResult,
} from "../../../../shared/contracts/token-service.ts";
import type { LogoutSender } from "../../../../shared/oidc/backchannel-logout.ts";
import { type TokenConfig, tokenConfig } from "../config.ts";
import { keyStore } from "../keys/signing-keys.ts";
import { registeredMcpAudiences } from "../mcp/audiences.ts";
import { recordBrowserClientOrg, recordBrowserSessionClient } from "./browser-client-store.ts";
import { signBrowserToken } from "./sign-browser-token.ts";

/**
 * The issuer's signature on a browser-flow token, with the records it
 * writes before signing in D1: for the authn Worker's provider through RPC
 * (rpc/token-service.ts) and for this Worker's own Logout Tokens.
 */
export function signAsIssuer(
  env: TokenEnv,
  config: TokenConfig,
  request: BrowserTokenSigningRequest,
): Promise<BrowserTokenSigningResult> {
  return signBrowserToken(keyStore(env, config), config, request, {
    registeredAudiences: (orgId, audiences) => registeredMcpAudiences(env.DB, config, orgId, audiences),
    recordClientOrg: (clientId, orgId) => recordBrowserClientOrg(env.DB, clientId, orgId),
    recordSessionClient: (sessionId, clientId) => recordBrowserSessionClient(env.DB, sessionId, clientId),
  });
}

/**
 * Logout Tokens sent from this Worker (an operator's cut-off of a person,
 * admin/person-cutoff.ts): signed here, as the issuer, under the same
 * checks as the authn Worker's (sign-browser-token.ts), no RPC round trip.
 */
export function issuerLogoutSender(env: TokenEnv): LogoutSender {
  const config = tokenConfig(env);
  return {
    issuer: config.issuer,
    worker: "token",
    sign: async (claims) => {
      const result = await signAsIssuer(env, config, { kind: "logout_token", claims });
      if (!result.ok) throw new Error(`the issuer refused to sign a Logout Token: ${result.error}`);
      return result.token;
    },
  };
}
