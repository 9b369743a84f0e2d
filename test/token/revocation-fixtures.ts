import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { expect } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { JWT_TYP } from "../../shared/contracts/tokens.ts";
import { basicAuthorization, clientToken, type TestClient } from "./clients-fixtures.ts";
import { AUDIENCE, freshClientAddress, signWithOurKey } from "./fixtures.ts";

/** The claims of an access token of the client's, issued now for a minute, to break one way per case. */
function claimsOf(client: TestClient) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: env.ISSUER,
    sub: client.clientId,
    aud: AUDIENCE,
    client_id: client.clientId,
    org_id: client.orgId,
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 60,
  };
}

/**
 * Tokens the revocation and introspection endpoints must treat as not ours
 * (RFC 7009 §2.2, RFC 7662 §2.2): malformed, expired, with a forged
 * signature, from another issuer, and for an audience we do not serve (each
 * otherwise like the client's own).
 */
export async function unusableTokens(client: TestClient): Promise<string[]> {
  const claims = claimsOf(client);
  const [header, payload] = (await clientToken(client)).split(".");
  return [
    "not-a-token",
    await signWithOurKey(JWT_TYP.accessToken, { ...claims, iat: claims.iat - 600, exp: claims.iat - 300 }),
    `${header}.${payload}.${"A".repeat(86)}`,
    await signWithOurKey(JWT_TYP.accessToken, { ...claims, iss: "https://elsewhere.example" }),
    await signWithOurKey(JWT_TYP.accessToken, { ...claims, aud: "https://not-served.example" }),
  ];
}

/** A JWT we signed that is not an access token (an ID-JAG): a type neither endpoint acts on (RFC 7009 §2.2.1). */
export function ourNonAccessToken(client: TestClient): Promise<string> {
  return signWithOurKey(JWT_TYP.idJag, claimsOf(client));
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
