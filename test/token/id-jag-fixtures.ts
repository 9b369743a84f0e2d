import { env } from "cloudflare:workers";
import { GRANT_TYPE, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { clientToken, type TestClient } from "./clients-fixtures.ts";
import { AUDIENCE, tokenRequest } from "./fixtures.ts";
import { authorization, delegationParams, exchange, issued, type TokenBody } from "./token-exchange-fixtures.ts";

/** Our issuer: the `aud` of an ID-JAG redeemed here, and the `iss` of our own. */
export const ISSUER = env.ISSUER;

/** A jwt-bearer redemption of `assertion` by `client` (RFC 7523 §2.1). */
export function redeem(client: TestClient, assertion: string, extra: Record<string, string> = {}) {
  return tokenRequest({ grant_type: GRANT_TYPE.jwtBearer, assertion, ...extra }, { headers: authorization(client) });
}

/** ID-JAG claims of ours, to override per case (signed with our key: what our own grants never mint). */
export function jagClaims(orgId: string, sub: string, clientId: string, overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    sub,
    aud: ISSUER,
    client_id: clientId,
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 120,
    resource: AUDIENCE,
    scope: "documents:read",
    tenant: orgId,
    ...overrides,
  };
}

/**
 * An ID-JAG of ours (audience: this issuer) for `agent`, exchanged from
 * `subjectToken` with the agent's own token as the actor (RFC 8693 §2.1):
 * the token response's body. `extra` adds to the request (resource, scope).
 */
export async function delegatedIdJag(
  agent: TestClient,
  subjectToken: string,
  extra: Record<string, string> = {},
): Promise<TokenBody> {
  const params = delegationParams(subjectToken, await clientToken(agent), {
    requested_token_type: TOKEN_TYPE.idJag,
    audience: ISSUER,
    ...extra,
  });
  return (await issued(await exchange(agent, params))).body;
}
