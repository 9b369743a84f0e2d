import { desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { OIDC_CLIENT_ID_PREFIX, OIDC_GRANT_TYPE, OIDC_SCOPE } from "../contracts/oidc.ts";
import { ALL_SCOPES } from "../contracts/scopes.ts";
import { generateClientSecret, hashSecret } from "../crypto/secret-hash.ts";
import { outboundUrlProblem } from "../http/outbound-url.ts";
import { oidcClient, oidcClientResource, oidcResource } from "../db/schema.ts";

/**
 * Browser (authorization code) clients of the authn Worker's OpenID provider,
 * registered by an operator (the token Worker's admin API, `mono-auth
 * oidc-client create`), never by open registration (GHSA-9h47-pqcx-hjr4).
 * Rows are written in the shape Better Auth's `oauth-provider` reads
 * (shared/db/auth-schema.ts, the `oidc_*` tables); the secret is stored with
 * the hash the provider is configured to verify
 * (workers/authn/src/auth/plugins/oauth-provider.ts, `storeClientSecret`).
 */
export interface BrowserClientInput {
  name: string;
  redirectUris: string[];
  /** `confidential`: a server-side app with a secret; `public`: a SPA or native app (PKCE alone). */
  type: "confidential" | "public";
  scopes: string[];
  /** RFC 8707 resources the client may ask tokens for (the token Worker checks them against ALLOWED_AUDIENCES). */
  resources: string[];
  /**
   * Where RP-initiated logout may send the browser afterwards (OIDC
   * RP-Initiated Logout 1.0 §3: registered, compared exactly); none by default.
   */
  postLogoutRedirectUris?: string[];
  /**
   * Where the provider POSTs a Logout Token when a session the client holds
   * tokens of ends (OIDC Back-Channel Logout 1.0 §2.2); none by default.
   */
  backchannelLogoutUri?: string | null;
}

export interface BrowserClientView {
  client_id: string;
  client_name: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  backchannel_logout_uri: string | null;
  token_endpoint_auth_method: string;
  scope: string;
  resources: string[];
  /** A disabled client gets nothing at the provider: no authorization, no token (admin PATCH `disabled`). */
  disabled: boolean;
  created_at: string | null;
}

export class BrowserClientInputError extends Error {
  override readonly name = "BrowserClientInputError";
}

/** Scopes a browser client may be registered for: OIDC's and a person's (never `admin`). */
export const BROWSER_CLIENT_SCOPES: ReadonlySet<string> = new Set([...Object.values(OIDC_SCOPE), ...ALL_SCOPES]);

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * RFC 9700 §2.1 / §4.1.3: a redirect URI is registered whole and compared
 * exactly; it must be absolute, carry no fragment (RFC 6749 §3.1.2) and no
 * userinfo (`https://good@evil` tricks, GHSA-86j7-9j95-vpqj), and be https
 * unless it is a loopback address for local development (RFC 8252 §7.3).
 */
export function checkRedirectUri(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new BrowserClientInputError(`redirect URI ${value} is not an absolute URL`);
  }
  if (url.href !== value)
    throw new BrowserClientInputError(`redirect URI ${value} is not in normal form (${url.href})`);
  if (url.hash || value.includes("#")) throw new BrowserClientInputError(`redirect URI ${value} has a fragment`);
  if (url.username || url.password) throw new BrowserClientInputError(`redirect URI ${value} has userinfo`);
  const loopback = url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== "https:" && !loopback) {
    throw new BrowserClientInputError(`redirect URI ${value} must be https (or http on a loopback host)`);
  }
  return value;
}

/**
 * OIDC Back-Channel Logout 1.0 §2.2: an absolute URI, no fragment, which may
 * carry a query. The provider POSTs to it, so it is held to the outbound
 * guard every URL we fetch for someone else passes (shared/http/outbound-url.ts:
 * https, no credentials, no loopback, private, link-local or metadata host;
 * a loopback one only while the issuer itself is local), and kept in normal
 * form like a redirect URI.
 */
export function checkBackchannelLogoutUri(value: string, issuer: string): string {
  const problem = outboundUrlProblem(value, issuer);
  if (problem !== undefined) throw new BrowserClientInputError(`backchannel_logout_uri ${problem}`);
  const normal = new URL(value).href;
  if (normal !== value) throw new BrowserClientInputError(`backchannel_logout_uri is not in normal form (${normal})`);
  return value;
}

function checkInput(input: BrowserClientInput, issuer: string): void {
  if (typeof input.name !== "string" || input.name.trim() === "" || input.name.length > 100) {
    throw new BrowserClientInputError("name must be 1-100 characters");
  }
  if (!Array.isArray(input.redirectUris) || input.redirectUris.length === 0 || input.redirectUris.length > 10) {
    throw new BrowserClientInputError("redirect_uris must list 1-10 URIs");
  }
  for (const uri of input.redirectUris) checkRedirectUri(uri);
  const afterLogout = input.postLogoutRedirectUris ?? [];
  if (!Array.isArray(afterLogout) || afterLogout.length > 10) {
    throw new BrowserClientInputError("post_logout_redirect_uris must list at most 10 URIs");
  }
  for (const uri of afterLogout) checkRedirectUri(uri);
  if (input.backchannelLogoutUri !== undefined && input.backchannelLogoutUri !== null) {
    checkBackchannelLogoutUri(input.backchannelLogoutUri, issuer);
  }
  if (input.type !== "confidential" && input.type !== "public") {
    throw new BrowserClientInputError("type must be confidential or public");
  }
  if (!input.scopes.includes(OIDC_SCOPE.openid)) throw new BrowserClientInputError("scopes must include openid");
  for (const scope of input.scopes) {
    if (!BROWSER_CLIENT_SCOPES.has(scope)) throw new BrowserClientInputError(`unknown scope ${scope}`);
  }
}

function randomId(bytes = 18): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}

/** Registers a client; its secret (confidential clients) is returned once and stored only as a hash. */
export async function registerBrowserClient(
  db: D1Database,
  input: BrowserClientInput,
  /** The deployment's issuer, which decides whether a loopback back-channel URI is allowed (a local one only). */
  issuer: string,
): Promise<{ client: BrowserClientView; clientSecret?: string }> {
  checkInput(input, issuer);
  const clientId = `${OIDC_CLIENT_ID_PREFIX}${randomId()}`;
  const clientSecret = input.type === "confidential" ? generateClientSecret() : undefined;
  const now = new Date();
  const method = input.type === "confidential" ? "client_secret_basic" : "none";
  const orm = drizzle(db);
  const statements = [
    ...input.resources.map((identifier) =>
      orm
        .insert(oidcResource)
        .values({ id: crypto.randomUUID(), identifier, name: identifier, createdAt: now, updatedAt: now })
        .onConflictDoNothing(),
    ),
    orm.insert(oidcClient).values({
      id: crypto.randomUUID(),
      clientId,
      clientSecret: clientSecret ? await hashSecret(clientSecret) : null,
      disabled: false,
      skipConsent: false,
      scopes: input.scopes,
      redirectUris: input.redirectUris,
      // RP-initiated logout (OIDC RP-Initiated Logout 1.0) for every client an operator registers,
      // as Keycloak and Okta offer it: Better Auth ends a session without asking for an
      // id_token_hint naming it (its `sid`, which the ID token then carries), from this browser or
      // from one with no session cookie at all, so the ID token is a sign-out right (docs/authn.md).
      enableEndSession: true,
      postLogoutRedirectUris: input.postLogoutRedirectUris ?? [],
      // Better Auth's Logout Token always carries `sid` (§2.4), so the client may require it (§2.2).
      backchannelLogoutUri: input.backchannelLogoutUri || null,
      backchannelLogoutSessionRequired: input.backchannelLogoutUri ? true : null,
      tokenEndpointAuthMethod: method,
      grantTypes: [OIDC_GRANT_TYPE.authorizationCode, OIDC_GRANT_TYPE.refreshToken],
      responseTypes: ["code"],
      // RFC 9700 §2.1.1: PKCE for every client, confidential ones too.
      requirePKCE: true,
      name: input.name.trim(),
      createdAt: now,
      updatedAt: now,
    }),
    ...input.resources.map((identifier) =>
      orm
        .insert(oidcClientResource)
        .values({ id: crypto.randomUUID(), clientId, resourceId: identifier, createdAt: now }),
    ),
  ];
  await orm.batch(statements as unknown as Parameters<typeof orm.batch>[0]);
  return {
    client: {
      client_id: clientId,
      client_name: input.name.trim(),
      redirect_uris: input.redirectUris,
      post_logout_redirect_uris: input.postLogoutRedirectUris ?? [],
      backchannel_logout_uri: input.backchannelLogoutUri || null,
      token_endpoint_auth_method: method,
      scope: input.scopes.join(" "),
      resources: input.resources,
      disabled: false,
      created_at: now.toISOString(),
    },
    ...(clientSecret ? { clientSecret } : {}),
  };
}

/** Every browser client, newest first, with the resources each may ask for. */
export async function listBrowserClients(db: D1Database): Promise<BrowserClientView[]> {
  const orm = drizzle(db);
  const rows = await orm.select().from(oidcClient).orderBy(desc(oidcClient.createdAt)).all();
  const links = await orm.select().from(oidcClientResource).all();
  return rows.map((row) =>
    browserClientView(
      row,
      links.filter((l) => l.clientId === row.clientId).map((l) => l.resourceId),
    ),
  );
}

/** A client row as the admin API shows it; never its secret (stored only as a hash anyway). */
export function browserClientView(row: typeof oidcClient.$inferSelect, resources: string[]): BrowserClientView {
  return {
    client_id: row.clientId,
    client_name: row.name ?? "",
    redirect_uris: (row.redirectUris as string[]) ?? [],
    post_logout_redirect_uris: (row.postLogoutRedirectUris as string[] | null) ?? [],
    backchannel_logout_uri: row.backchannelLogoutUri ?? null,
    token_endpoint_auth_method: row.tokenEndpointAuthMethod ?? "client_secret_basic",
    scope: ((row.scopes as string[] | null) ?? []).join(" "),
    resources,
    disabled: row.disabled === true,
    created_at: row.createdAt ? row.createdAt.toISOString() : null,
  };
}

/** What the consent page shows of a client, or undefined when there is no such (enabled) client. */
export async function browserClientForConsent(
  db: D1Database,
  clientId: string,
): Promise<{ name: string; redirectUris: string[] } | undefined> {
  const row = await drizzle(db)
    .select({ name: oidcClient.name, disabled: oidcClient.disabled, redirectUris: oidcClient.redirectUris })
    .from(oidcClient)
    .where(eq(oidcClient.clientId, clientId))
    .get();
  if (!row || row.disabled) return undefined;
  return { name: row.name ?? clientId, redirectUris: (row.redirectUris as string[]) ?? [] };
}
