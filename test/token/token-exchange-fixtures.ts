import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { decodeJwt } from "jose";
import {
  type ActorClaim,
  FIRST_PARTY_CLIENT_ID,
  GRANT_TYPE,
  JWT_TYP,
  TOKEN_TYPE,
} from "../../shared/contracts/tokens.ts";
import { member } from "../../shared/db/schema.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { createDelegationGrant } from "../../workers/token/src/grants/delegation-grants.ts";
import { keyStore } from "../../workers/token/src/keys/signing-keys.ts";
import { mintAccessToken } from "../../workers/token/src/mint/mint-access-token.ts";
import {
  basicAuthorization,
  createTestOrg,
  registerTestClient,
  type TestClient,
  type TestClientOptions,
} from "./clients-fixtures.ts";
import { AUDIENCE, seedUser, signWithOurKey, tokenRequest } from "./fixtures.ts";

/** The token project's second audience (vitest.config.ts): one a subject token may not hold. */
export const OTHER_AUDIENCE = env.ALLOWED_AUDIENCES.split(" ")[1] as string;

/** Every grant a delegating agent needs. */
export const AGENT_GRANTS = [GRANT_TYPE.clientCredentials, GRANT_TYPE.tokenExchange, GRANT_TYPE.jwtBearer];

/** A user who is a member of the org, written the way Better Auth writes them. */
export async function seedMember(orgId: string, role = "member"): Promise<string> {
  const id = crypto.randomUUID();
  const userId = await seedUser(id);
  await drizzle(env.DB)
    .insert(member)
    .values({ id: `m-${id}`, organizationId: orgId, userId, role, createdAt: new Date() });
  return userId;
}

/** An agent client of the org that may delegate (client credentials, token exchange, jwt-bearer). */
export function registerAgent(orgId: string, options: TestClientOptions = {}): Promise<TestClient> {
  return registerTestClient({
    orgId,
    kind: "agent",
    grantTypes: AGENT_GRANTS,
    audiences: [AUDIENCE, OTHER_AUDIENCE],
    ...options,
  });
}

export interface UserTokenOptions {
  /** Another audience than AUDIENCE, or several (then the token is signed here, not minted). */
  audience?: string | string[];
  scope?: string;
  clientId?: string;
  sessionId?: string;
  roles?: string[];
  ttlSeconds?: number;
  actor?: ActorClaim;
}

/**
 * A person's access token as the session exchange mints it (the first-party
 * client, through the one minting function and the real signing key).
 */
export async function userToken(orgId: string, userId: string, options: UserTokenOptions = {}): Promise<string> {
  const fields = {
    subject: userId,
    clientId: options.clientId ?? FIRST_PARTY_CLIENT_ID,
    orgId,
    scope: options.scope ?? "documents:read",
    ...(options.roles ? { roles: options.roles } : {}),
    ...(options.sessionId ? { sessionId: options.sessionId } : {}),
    ...(options.actor ? { actor: options.actor } : {}),
    ttlSeconds: options.ttlSeconds ?? 300,
  };
  if (options.audience === undefined) {
    const config = tokenConfig(env);
    return (await mintAccessToken(keyStore(env, config), config.issuer, { ...fields, audience: AUDIENCE }, Date.now()))
      .token;
  }
  const now = Math.floor(Date.now() / 1000);
  return signWithOurKey(JWT_TYP.accessToken, {
    iss: env.ISSUER,
    sub: userId,
    aud: options.audience,
    iat: now,
    exp: now + fields.ttlSeconds,
    jti: crypto.randomUUID(),
    client_id: fields.clientId,
    org_id: orgId,
    scope: fields.scope,
    ...(options.sessionId ? { sid: options.sessionId } : {}),
    ...(options.actor ? { act: options.actor } : {}),
  });
}

export function authorization(client: TestClient): Record<string, string> {
  return { Authorization: basicAuthorization(client.clientId, client.secret) };
}

/** A token-exchange request by `client` (RFC 8693 §2.1). */
export function exchange(client: TestClient, params: Record<string, string>): Promise<Response> {
  return tokenRequest({ grant_type: GRANT_TYPE.tokenExchange, ...params }, { headers: authorization(client) });
}

/** The params of an exchange of a person's token with the agent's own as actor. */
export function delegationParams(subjectToken: string, actorToken: string, extra: Record<string, string> = {}) {
  return {
    subject_token: subjectToken,
    subject_token_type: TOKEN_TYPE.accessToken,
    actor_token: actorToken,
    actor_token_type: TOKEN_TYPE.accessToken,
    ...extra,
  };
}

export interface GrantOptions {
  scopes?: string[];
  audiences?: string[];
  expiresAt?: Date | null;
}

/** A person's consent that the agent may act for them (grants/delegation-grants.ts). */
export function grantDelegation(orgId: string, subject: string, actor: TestClient, options: GrantOptions = {}) {
  return createDelegationGrant(env.DB, {
    orgId,
    subject,
    actorClientId: actor.clientId,
    scopes: options.scopes ?? ["documents:read"],
    audiences: options.audiences ?? [AUDIENCE],
    expiresAt: options.expiresAt ?? null,
    createdBy: "test",
  });
}

export interface TokenBody {
  access_token: string;
  issued_token_type?: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

export async function issued(response: Response): Promise<{ body: TokenBody; claims: Record<string, unknown> }> {
  if (response.status !== 200) throw new Error(`expected 200, got ${response.status} ${await response.text()}`);
  const body = (await response.json()) as TokenBody;
  return { body, claims: decodeJwt(body.access_token) };
}

/** An org with a person and an agent that may delegate. */
export async function orgWithAgent() {
  const orgId = await createTestOrg();
  const userId = await seedMember(orgId, "admin");
  const agent = await registerAgent(orgId);
  return { orgId, userId, agent };
}

/** A claim set of ours, issued now, to override per case. */
export function claims(orgId: string, sub: string, overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: env.ISSUER,
    sub,
    aud: AUDIENCE,
    iat: now,
    exp: now + 300,
    jti: crypto.randomUUID(),
    client_id: "mono-auth-web",
    org_id: orgId,
    scope: "documents:read",
    ...overrides,
  };
}
