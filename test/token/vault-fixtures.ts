import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { afterEach, beforeEach, expect, vi } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { VAULT_CONNECT_LINK, VAULT_PATH } from "../../shared/contracts/vault.ts";
import { member, session } from "../../shared/db/schema.ts";
import { vaultConnection } from "../../shared/db/vault-schema.ts";
import { adminRequest, adminToken } from "./admin-fixtures.ts";
import { seedSession, seedUser } from "./fixtures.ts";

/**
 * The third-party provider (test/support/runtime/vault-upstream): a real
 * OAuth server Worker. Its origin is an https name of its own; the test
 * routes the token Worker's fetches for that origin to the Worker (the one
 * thing stood in for is the network between two parties).
 */
export const UPSTREAM = "https://upstream.vault.test";
export const UPSTREAM_CLIENT = { id: "vault-test-client", secret: "vault-test-secret" };

export function upstream(): Fetcher {
  return (env as unknown as { VAULT_UPSTREAM: Fetcher }).VAULT_UPSTREAM;
}

/** Sends the token Worker's requests for UPSTREAM to the provider Worker; call in beforeEach. */
export function routeUpstream(): void {
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    const request = new Request(input, init);
    return new URL(request.url).origin === UPSTREAM ? upstream().fetch(request) : realFetch(input, init);
  });
}

/** What the provider received at its token endpoint (grant type, client authentication, verifier sent). */
export async function upstreamRequests(
  providerName: string,
): Promise<{ grant_type: string; client_auth: string; code_verifier: boolean }[]> {
  return (await upstream().fetch(`${UPSTREAM}/requests?tag=${encodeURIComponent(providerName)}`)).json();
}

export async function upstreamActive(token: string): Promise<boolean> {
  const response = await upstream().fetch(`${UPSTREAM}/introspect`, {
    method: "POST",
    body: new URLSearchParams({ token }),
  });
  return ((await response.json()) as { active: boolean }).active;
}

export interface ProviderView {
  id: string;
  name: string;
  resource: string;
  has_client_secret: boolean;
  [key: string]: unknown;
}

/**
 * A provider configured through the admin API. Its authorization endpoint
 * carries its name as the provider's `tag`, so upstreamRequests(name) sees
 * this provider's token requests only, whatever other tests run beside it.
 */
export async function createProvider(
  orgId: string,
  overrides: Record<string, unknown> = {},
  token?: string,
): Promise<ProviderView> {
  const name = typeof overrides.name === "string" ? overrides.name : `upstream-${crypto.randomUUID().slice(0, 8)}`;
  const response = await adminRequest("POST", `/orgs/${orgId}/vault/providers`, {
    token: token ?? (await adminToken()),
    body: {
      name,
      resource: "demo-echo",
      authorization_endpoint: `${UPSTREAM}/authorize?tag=${name}`,
      token_endpoint: `${UPSTREAM}/token`,
      client_id: UPSTREAM_CLIENT.id,
      client_secret: UPSTREAM_CLIENT.secret,
      scopes: "read write",
      ...overrides,
    },
  });
  expect(response.status).toBe(201);
  return response.json();
}

/** A signed-in member of the org (another person than seedSession's), as Better Auth writes them. */
export async function seedMemberSession(orgId: string, role = "member") {
  const id = crypto.randomUUID();
  const userId = await seedUser(id);
  const db = drizzle(env.DB);
  const now = new Date();
  await db.insert(member).values({ id: `m-${id}`, organizationId: orgId, userId, role, createdAt: now });
  await db.insert(session).values({
    id: `s-${id}`,
    token: `session-token-${id}`,
    userId,
    expiresAt: new Date(Date.now() + 3_600_000),
    createdAt: now,
    updatedAt: now,
    activeOrganizationId: orgId,
  });
  return { userId, orgId, token: `session-token-${id}`, sessionId: `s-${id}` };
}

export type SeededSession = Awaited<ReturnType<typeof seedSession>>;

/** The session cookie as the browser sends it: `<token>.<signature>` (the signature is Better Auth's). */
export function sessionCookie(s: { token: string }): string {
  return `mono.session_token=${encodeURIComponent(`${s.token}.c2lnbmF0dXJl`)}`;
}

export function vaultGet(pathAndQuery: string, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(new Request(`http://localhost${pathAndQuery}`, { headers, redirect: "manual" }));
}

/** Starts the flow as a signed-in person: the provider's authorization URL we redirect to. */
export async function startAsUser(s: { token: string }, providerName: string): Promise<URL> {
  const started = await vaultGet(`${VAULT_PATH.connect}/${providerName}`, { Cookie: sessionCookie(s) });
  expect(started.status).toBe(302);
  return new URL(started.headers.get("Location") ?? "");
}

/** The browser at the provider: where the provider sends it back (our callback, with code and state). */
export async function atProvider(authorizationUrl: URL, extra: Record<string, string> = {}): Promise<URL> {
  const url = new URL(authorizationUrl);
  for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
  const response = await upstream().fetch(url, { redirect: "manual" });
  expect(response.status).toBe(302);
  return new URL(response.headers.get("Location") ?? "");
}

/** Back at our callback, as the same browser. */
export function callback(back: URL, s?: { token: string }): Promise<Response> {
  return vaultGet(`${back.pathname}${back.search}`, s ? { Cookie: sessionCookie(s) } : {});
}

export interface ConnectionView {
  id: string;
  owner: { kind: string; id: string };
  [key: string]: unknown;
}

/** The whole flow as a person: returns the saved connection's metadata. */
export async function connectAsUser(
  s: { token: string },
  providerName: string,
  atProviderExtra: Record<string, string> = {},
): Promise<ConnectionView> {
  const back = await atProvider(await startAsUser(s, providerName), atProviderExtra);
  const done = await callback(back, s);
  expect(done.status).toBe(200);
  const body = (await done.json()) as { connected: boolean; connection: ConnectionView };
  expect(body.connected).toBe(true);
  return body.connection;
}

export async function connectionRow(id: string) {
  const row = await drizzle(env.DB).select().from(vaultConnection).where(eq(vaultConnection.id, id)).get();
  if (!row) throw new Error(`no connection ${id}`);
  return row;
}

/** Binds an agent to a connection through the admin API. */
export async function bindAgent(orgId: string, connectionId: string, clientId: string, token?: string) {
  const response = await adminRequest("POST", `/orgs/${orgId}/vault/connections/${connectionId}/agents`, {
    token: token ?? (await adminToken()),
    body: { client_id: clientId },
  });
  expect(response.status).toBe(200);
}

/** An admin API call as a console session's person, through the ConsoleAdmin entrypoint the console uses. */
export function consoleAdminRequest(
  s: { token: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return exports.ConsoleAdmin.fetchAs(
    s.token,
    new Request(`http://localhost${ENDPOINT.admin}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }),
    }),
  );
}

/** An operator client's connect flow: the `link` value of the confirmation URL it is given. */
export async function operatorConnectLink(orgId: string, providerId: string, body: unknown = {}): Promise<string> {
  const started = await adminRequest("POST", `/orgs/${orgId}/vault/providers/${providerId}/connect`, {
    token: await adminToken(),
    body,
  });
  expect(started.status).toBe(201);
  const { confirmation_url } = (await started.json()) as { confirmation_url: string };
  const url = new URL(confirmation_url);
  expect(url.pathname).toBe(VAULT_CONNECT_LINK.path(orgId));
  return url.searchParams.get(VAULT_CONNECT_LINK.param) ?? "";
}

/** An org admin confirms a connect link from the console: the provider's authorization URL, or the refusal. */
export function confirmLink(admin: { token: string }, orgId: string, link: string): Promise<Response> {
  return consoleAdminRequest(admin, "POST", `/orgs/${orgId}/vault/connect-links/confirm`, { link });
}

/** The org's own connection, connected by an org admin from the console (the flow bound to their session). */
export async function connectOrgAsAdmin(admin: { token: string }, orgId: string, providerId: string) {
  const started = await consoleAdminRequest(admin, "POST", `/orgs/${orgId}/vault/providers/${providerId}/connect`, {});
  expect(started.status).toBe(201);
  const { authorization_url } = (await started.json()) as { authorization_url: string };
  const done = await callback(await atProvider(new URL(authorization_url)), admin);
  expect(done.status).toBe(200);
  return ((await done.json()) as { connection: ConnectionView }).connection;
}

/** A spoiler of one token the provider answers with; null: as issued. */
export type TokenSpoiler = ((token: string) => string) | null;

/**
 * The provider's token endpoint (routed to vault-fixtures' upstream), with
 * one field of its 200 answers spoiled while a test sets a spoiler: for the
 * checks of what a provider may hand the vault. Call at a file's top level;
 * it installs and removes its fetch spy around each test.
 */
export function spoilableTokenAnswers(field: "access_token" | "refresh_token"): { spoil(spoiler: TokenSpoiler): void } {
  let spoiler: TokenSpoiler = null;
  beforeEach(() => {
    spoiler = null;
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      if (url.origin !== UPSTREAM) return realFetch(input, init);
      const answer = await upstream().fetch(request);
      if (!spoiler || url.pathname !== "/token" || answer.status !== 200) return answer;
      const body = (await answer.json()) as Record<string, unknown>;
      body[field] = spoiler(String(body[field]));
      return Response.json(body);
    });
  });
  afterEach(() => {
    spoiler = null;
    vi.restoreAllMocks();
  });
  return {
    spoil(next) {
      spoiler = next;
    },
  };
}

/** How many vault connections an org holds. */
export async function connectionsOf(orgId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM vault_connection WHERE org_id = ?")
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}
