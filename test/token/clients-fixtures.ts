import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { GRANT_TYPE, CLIENT_ASSERTION_TYPE_JWT_BEARER } from "../../shared/contracts/tokens.ts";
import { generateClientId } from "../../shared/crypto/client-id.ts";
import { generateClientSecret, hashSecret } from "../../shared/crypto/secret-hash.ts";
import { oauthClient, organization, orgTokenPolicy } from "../../shared/db/schema.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { keyStore } from "../../workers/token/src/keys/signing-keys.ts";
import { type AccessTokenRequest, mintAccessToken } from "../../workers/token/src/mint/mint-access-token.ts";
import { AUDIENCE, tokenRequest } from "./fixtures.ts";

export type AssertionAlg = "ES256" | "RS256" | "EdDSA";

export interface TestClientOptions {
  /** An org created for the client when absent; null: a platform operator client. */
  orgId?: string | null;
  kind?: "machine" | "agent" | "service";
  authMethod?: "client_secret_basic" | "client_secret_post" | "private_key_jwt";
  /** The secret stored (hashed) for the secret methods; a generated one when absent. */
  secret?: string;
  /** The key algorithm of a private_key_jwt client's inline JWKS. */
  alg?: AssertionAlg;
  grantTypes?: string[];
  scopes?: string[];
  audiences?: string[];
  maxTtlSeconds?: number | null;
  status?: "active" | "disabled" | "pending";
}

export interface TestClient {
  clientId: string;
  orgId: string | null;
  secret: string;
  /** For private_key_jwt clients. */
  key?: { privateKey: CryptoKey; kid: string; alg: AssertionAlg };
}

/** An organization row as Better Auth writes it. */
export async function createTestOrg(): Promise<string> {
  const id = `org-${crypto.randomUUID()}`;
  await drizzle(env.DB).insert(organization).values({ id, name: "Org", slug: id, createdAt: new Date() });
  return id;
}

/** An oauth_client row, written the way the admin API writes one. */
export async function registerTestClient(options: TestClientOptions = {}): Promise<TestClient> {
  const orgId = options.orgId === undefined ? await createTestOrg() : options.orgId;
  const authMethod = options.authMethod ?? "client_secret_basic";
  const clientId = generateClientId();
  const secret = options.secret ?? generateClientSecret();
  let key: TestClient["key"];
  let jwks: string | null = null;
  if (authMethod === "private_key_jwt") {
    const alg = options.alg ?? "ES256";
    const pair = await generateKeyPair(alg, { extractable: true });
    const kid = crypto.randomUUID();
    jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid, alg, use: "sig" }] });
    key = { privateKey: pair.privateKey, kid, alg };
  }
  const now = new Date();
  await drizzle(env.DB)
    .insert(oauthClient)
    .values({
      clientId,
      orgId,
      name: "test client",
      type: options.kind ?? "machine",
      authMethod,
      secretHash: authMethod === "private_key_jwt" ? null : await hashSecret(secret),
      jwks,
      grantTypes: (options.grantTypes ?? [GRANT_TYPE.clientCredentials]).join(" "),
      scopes: (options.scopes ?? ["documents:read"]).join(" "),
      audiences: (options.audiences ?? [AUDIENCE]).join(" "),
      maxTtlSeconds: options.maxTtlSeconds ?? null,
      status: options.status ?? "active",
      createdAt: now,
      updatedAt: now,
    });
  return { clientId, orgId, secret, key };
}

/** Sets an org's token policy row (absent fields: the column defaults). */
export async function setOrgPolicy(orgId: string, policy: Partial<typeof orgTokenPolicy.$inferInsert>): Promise<void> {
  await drizzle(env.DB)
    .insert(orgTokenPolicy)
    .values({ orgId, updatedAt: new Date(), ...policy });
}

/** RFC 6749 §2.3.1: id and secret form-encoded, then HTTP Basic (RFC 7617). */
export function basicAuthorization(clientId: string, secret: string): string {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  return `Basic ${btoa(`${encode(clientId)}:${encode(secret)}`)}`;
}

export interface AssertionOptions {
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  /** Sign with another key than the registered one. */
  privateKey?: CryptoKey;
  alg?: string;
}

/** An RFC 7523 client assertion as a well-behaved client makes it. */
export async function clientAssertion(client: TestClient, options: AssertionOptions = {}): Promise<string> {
  if (!client.key) throw new Error("not a private_key_jwt client");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: client.clientId,
    sub: client.clientId,
    aud: env.ISSUER,
    iat: now,
    exp: now + 60,
    jti: crypto.randomUUID(),
    ...options.claims,
  })
    .setProtectedHeader({ alg: options.alg ?? client.key.alg, kid: client.key.kid, ...options.header })
    .sign(options.privateKey ?? client.key.privateKey);
}

/** The form of a client_credentials request authenticated with an assertion. */
export function assertionParams(assertion: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    grant_type: GRANT_TYPE.clientCredentials,
    client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER,
    client_assertion: assertion,
    ...extra,
  };
}

/** A JWS with `alg: none` (jose refuses to make one). */
export function unsignedJwt(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const part = (value: object) =>
    btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return `${part(header)}.${part(claims)}.`;
}

/** The client's own access token, by client_credentials at the token endpoint, for `audience` (RFC 8707 `resource`). */
export async function clientToken(client: TestClient, audience = AUDIENCE): Promise<string> {
  const response = await tokenRequest(
    { grant_type: GRANT_TYPE.clientCredentials, resource: audience },
    { headers: { Authorization: basicAuthorization(client.clientId, client.secret) } },
  );
  if (response.status !== 200) throw new Error(`client_credentials: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/**
 * A token minted directly for the client (for claims no grant gives a test
 * client: `act`, `cnf`, another org, an `iat` from another moment).
 */
export async function mintedToken(
  client: TestClient,
  extra: Partial<AccessTokenRequest> = {},
  authorizedAtMs = Date.now(),
): Promise<string> {
  const config = tokenConfig(env);
  const minted = await mintAccessToken(
    keyStore(env, config),
    config.issuer,
    {
      subject: client.clientId,
      audience: AUDIENCE,
      clientId: client.clientId,
      orgId: client.orgId as string,
      scope: "documents:read",
      ttlSeconds: 300,
      ...extra,
    },
    authorizedAtMs,
  );
  return minted.token;
}

export type { JWK };
