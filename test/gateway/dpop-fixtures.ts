import { env, exports } from "cloudflare:workers";
import { adminAudience, ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { generateClientId } from "../../shared/crypto/client-id.ts";
import { generateClientSecret, hashSecret } from "../../shared/crypto/secret-hash.ts";

/**
 * Clients of the real token Worker (the gateway project's neighbour, sharing
 * its D1), written as the admin API writes them, and requests through the
 * gateway under test exactly as a client sends them over the one origin.
 */
export interface GatewayTestClient {
  clientId: string;
  secret: string;
  orgId: string | null;
}

const hextet = () => Math.floor(Math.random() * 0x10000).toString(16);

/** A client address of its own per request, so the token endpoint's per-address limit never adds up across tests. */
const freshAddress = () => `2001:db8:${hextet()}:${hextet()}::1`;

export async function registerClient(
  options: { operator?: boolean; kind?: "machine" | "agent" } = {},
): Promise<GatewayTestClient> {
  const clientId = generateClientId();
  const secret = generateClientSecret();
  const now = Date.now();
  let orgId: string | null = null;
  if (!options.operator) {
    orgId = `org-${crypto.randomUUID()}`;
    await env.DB.prepare("INSERT INTO organization (id, name, slug, created_at) VALUES (?, 'Org', ?, ?)")
      .bind(orgId, orgId, now)
      .run();
  }
  await env.DB.prepare(
    `INSERT INTO oauth_client (client_id, org_id, name, type, auth_method, secret_hash, grant_types, scopes,
       audiences, status, created_at, updated_at)
     VALUES (?, ?, 'gateway test', ?, 'client_secret_basic', ?, ?, ?, ?, 'active', ?, ?)`,
  )
    .bind(
      clientId,
      orgId,
      options.kind ?? "machine",
      await hashSecret(secret),
      GRANT_TYPE.clientCredentials,
      options.operator ? SCOPE.admin : SCOPE.documentsRead,
      options.operator ? adminAudience(env.ISSUER) : env.API_AUDIENCE,
      now,
      now,
    )
    .run();
  return { clientId, secret, orgId };
}

/** POST ENDPOINT.token through the gateway: client_credentials with client_secret_basic. */
export function tokenRequest(client: GatewayTestClient, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(
    new Request(`${env.ISSUER}${ENDPOINT.token}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Authorization: `Basic ${btoa(`${client.clientId}:${client.secret}`)}`,
        "cf-connecting-ip": freshAddress(),
        ...headers,
      },
      body: new URLSearchParams({ grant_type: GRANT_TYPE.clientCredentials }),
    }),
  );
}

export async function accessToken(client: GatewayTestClient): Promise<string> {
  const response = await tokenRequest(client);
  if (response.status !== 200) throw new Error(`token request: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A call of the admin API through the gateway. */
export function adminRequest(token: string, method: string, path: string, body?: unknown): Promise<Response> {
  return exports.default.fetch(
    new Request(`${env.ISSUER}${ENDPOINT.admin}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}
