import { env, exports } from "cloudflare:workers";
import { decodeJwt, SignJWT } from "jose";
import { expect } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { GRANT_TYPE, JWT_TYP, SIGNING_ALG } from "../../shared/contracts/tokens.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { currentSigningKey, keyStore } from "../../workers/token/src/keys/signing-keys.ts";
import { type AccessTokenRequest, mintAccessToken } from "../../workers/token/src/mint/mint-access-token.ts";
import { basicAuthorization, type TestClient } from "./clients-fixtures.ts";
import { AUDIENCE, freshClientAddress, tokenRequest } from "./fixtures.ts";

/** An access token for the client, by client_credentials at the token endpoint. */
export async function clientToken(client: TestClient): Promise<string> {
  const response = await tokenRequest(
    { grant_type: GRANT_TYPE.clientCredentials },
    { headers: { Authorization: basicAuthorization(client.clientId, client.secret) } },
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A token minted directly (for claims no grant gives a test client: `act`, `cnf`). */
export async function mintedToken(client: TestClient, extra: Partial<AccessTokenRequest> = {}): Promise<string> {
  const config = tokenConfig(env);
  const minted = await mintAccessToken(keyStore(env, config), config.issuer, {
    subject: client.clientId,
    audience: AUDIENCE,
    clientId: client.clientId,
    orgId: client.orgId as string,
    scope: "documents:read",
    ttlSeconds: 300,
    ...extra,
  });
  return minted.token;
}

/** A JWT signed with our current key, with any `typ` and claims (an expired token, an ID-JAG). */
export async function signedByUs(claims: Record<string, unknown>, typ: string = JWT_TYP.accessToken): Promise<string> {
  const key = await currentSigningKey(keyStore(env, tokenConfig(env)));
  return new SignJWT(claims).setProtectedHeader({ alg: SIGNING_ALG, typ, kid: key.kid }).sign(key.privateKey);
}

/**
 * Tokens the revocation and introspection endpoints must treat as not ours
 * (RFC 7009 §2.2, RFC 7662 §2.2): malformed, expired, with a forged
 * signature, and from another issuer (each otherwise like the client's own).
 */
export async function unusableTokens(client: TestClient): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: env.ISSUER,
    sub: client.clientId,
    aud: AUDIENCE,
    client_id: client.clientId,
    org_id: client.orgId,
    jti: crypto.randomUUID(),
  };
  const [header, payload] = (await clientToken(client)).split(".");
  return [
    "not-a-token",
    await signedByUs({ ...claims, iat: now - 600, exp: now - 300 }),
    `${header}.${payload}.${"A".repeat(86)}`,
    await signedByUs({ ...claims, iss: "https://elsewhere.example", iat: now, exp: now + 60 }),
  ];
}

export type Credentials = { client: TestClient } | { headers: Record<string, string>; params?: Record<string, string> };

/** POST to the revocation or introspection endpoint, authenticated with client_secret_basic by default. */
export function managementRequest(
  path: typeof ENDPOINT.revocation | typeof ENDPOINT.introspection,
  params: Record<string, string>,
  credentials: Credentials,
): Promise<Response> {
  const auth =
    "client" in credentials
      ? { headers: { Authorization: basicAuthorization(credentials.client.clientId, credentials.client.secret) } }
      : credentials;
  return exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "cf-connecting-ip": freshClientAddress(),
        ...auth.headers,
      },
      body: new URLSearchParams({ ...params, ...("params" in auth ? auth.params : {}) }),
    }),
  );
}

export function introspect(token: string, client: TestClient): Promise<Response> {
  return managementRequest(ENDPOINT.introspection, { token }, { client });
}

export async function introspected(token: string, client: TestClient): Promise<Record<string, unknown>> {
  const response = await introspect(token, client);
  expect(response.status).toBe(200);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  return (await response.json()) as Record<string, unknown>;
}

export function revoke(token: string, client: TestClient, hint?: string): Promise<Response> {
  return managementRequest(ENDPOINT.revocation, { token, ...(hint ? { token_type_hint: hint } : {}) }, { client });
}

/** The `jti` entries of an org's Durable Object: what the gateway will refuse. */
export async function revokedJtis(orgId: string): Promise<{ value: string; expiresAt: number }[]> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return snapshot.entries.filter((e) => e.kind === "jti").map((e) => ({ value: e.value, expiresAt: e.expiresAt }));
}

export const jtiOf = (token: string) => decodeJwt(token).jti as string;

export async function makeResourceServer(client: TestClient): Promise<void> {
  await env.DB.prepare("UPDATE oauth_client SET resource_server = 1 WHERE client_id = ?").bind(client.clientId).run();
}
