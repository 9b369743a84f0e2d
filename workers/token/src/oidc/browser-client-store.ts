import { and, eq, isNotNull, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { OIDC_SCOPE } from "../../../../shared/contracts/oidc.ts";
import {
  oidcAccessToken,
  oidcClient,
  oidcClientResource,
  oidcConsent,
  oidcRefreshToken,
  oidcResource,
} from "../../../../shared/db/auth-schema.ts";
import { oidcClientOrg } from "../../../../shared/db/schema.ts";
import {
  BrowserClientInputError,
  type BrowserClientView,
  browserClientView,
} from "../../../../shared/oidc/browser-clients.ts";

/**
 * An operator's changes to a registered browser client, written in the rows
 * Better Auth's oauth-provider reads at every request (no cache: the plugin's
 * `cachedTrustedClients` and `cachedResources` are off), so each change holds
 * from the next authorization on. Registration itself: shared/oidc/browser-clients.ts.
 */
export interface BrowserClientChanges {
  name?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  /** null: no back-channel logout any more. */
  backchannelLogoutUri?: string | null;
  scopes?: string[];
  resources?: string[];
  disabled?: boolean;
}

type Row = typeof oidcClient.$inferSelect;

/**
 * The operator-registered client with this id, or undefined. A client known
 * by its Client ID Metadata Document (an MCP client, `client_discovery_id`
 * set) is its document's to describe, not the operator's to edit.
 */
export async function findBrowserClient(
  db: D1Database,
  clientId: string,
): Promise<{ row: Row; view: BrowserClientView } | undefined> {
  const orm = drizzle(db);
  const [rows, links] = await orm.batch([
    orm
      .select()
      .from(oidcClient)
      .where(and(eq(oidcClient.clientId, clientId), isNull(oidcClient.clientDiscoveryId))),
    orm
      .select({ resourceId: oidcClientResource.resourceId })
      .from(oidcClientResource)
      .where(eq(oidcClientResource.clientId, clientId)),
  ]);
  const row = rows[0];
  if (!row) return undefined;
  return {
    row,
    view: browserClientView(
      row,
      links.map((l) => l.resourceId),
    ),
  };
}

/** Writes the changes in one batch: the row and its RFC 8707 resource links together, or nothing. */
export async function updateBrowserClient(db: D1Database, clientId: string, changes: BrowserClientChanges) {
  // OIDC Core §3.1.2.1: an authentication request must carry `openid`; a client without it could sign no one in.
  if (changes.scopes && !changes.scopes.includes(OIDC_SCOPE.openid)) {
    throw new BrowserClientInputError("scope: must include openid");
  }
  const orm = drizzle(db);
  const now = new Date();
  const resources = changes.resources;
  const statements = [
    orm
      .update(oidcClient)
      .set({
        updatedAt: now,
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.redirectUris !== undefined ? { redirectUris: changes.redirectUris } : {}),
        ...(changes.postLogoutRedirectUris !== undefined
          ? { postLogoutRedirectUris: changes.postLogoutRedirectUris }
          : {}),
        ...(changes.backchannelLogoutUri !== undefined
          ? {
              backchannelLogoutUri: changes.backchannelLogoutUri,
              backchannelLogoutSessionRequired: changes.backchannelLogoutUri === null ? null : true,
            }
          : {}),
        ...(changes.scopes !== undefined ? { scopes: changes.scopes } : {}),
        ...(changes.disabled !== undefined ? { disabled: changes.disabled } : {}),
      })
      .where(eq(oidcClient.clientId, clientId)),
    ...(resources === undefined
      ? []
      : [
          ...resources.map((identifier) =>
            orm
              .insert(oidcResource)
              .values({ id: crypto.randomUUID(), identifier, name: identifier, createdAt: now, updatedAt: now })
              .onConflictDoNothing(),
          ),
          orm.delete(oidcClientResource).where(eq(oidcClientResource.clientId, clientId)),
          ...resources.map((identifier) =>
            orm
              .insert(oidcClientResource)
              .values({ id: crypto.randomUUID(), clientId, resourceId: identifier, createdAt: now }),
          ),
        ]),
  ];
  await orm.batch(statements as unknown as Parameters<typeof orm.batch>[0]);
}

/** Replaces the secret's hash: the old secret is refused from the next token request on. */
export async function setBrowserClientSecret(db: D1Database, clientId: string, secretHash: string): Promise<void> {
  await drizzle(db)
    .update(oidcClient)
    .set({ clientSecret: secretHash, updatedAt: new Date() })
    .where(eq(oidcClient.clientId, clientId));
}

/**
 * Records, before an access token for the org is signed, that the client
 * holds one (`oidc_client_org`; once per pair: the row is never updated).
 */
export async function recordBrowserClientOrg(db: D1Database, clientId: string, orgId: string): Promise<void> {
  await drizzle(db).insert(oidcClientOrg).values({ clientId, orgId, createdAt: new Date() }).onConflictDoNothing();
}

/**
 * Records that the client was issued a token naming the session (`sid`), so
 * the session's end reaches it by back-channel logout. Only while both
 * exist: a session already ended, or a client already deleted, has no one
 * left to tell, and the row would break their foreign keys; the one
 * statement reads and writes atomically.
 */
export async function recordBrowserSessionClient(db: D1Database, sessionId: string, clientId: string): Promise<void> {
  await db
    .prepare(
      `INSERT OR IGNORE INTO oidc_session_client (session_id, client_id, created_at)
       SELECT s.id, c.client_id, ? FROM session s JOIN oidc_client c ON c.client_id = ? WHERE s.id = ?`,
    )
    .bind(Date.now(), clientId, sessionId)
    .run();
}

/**
 * The orgs the client was authorized for: every org the issuer signed it an
 * access token for (`oidc_client_org`, written before each signature, which
 * neither the person nor the client can remove), and, for a grant that has
 * yielded no access token yet, each consent, refresh token and opaque access
 * token, which carry their org as `reference_id`
 * (workers/authn/src/auth/plugins/oauth-provider.ts, `consentReferenceId`).
 */
export async function browserClientOrgs(db: D1Database, clientId: string): Promise<string[]> {
  const orm = drizzle(db);
  const [minted, consents, refreshes, accesses] = await orm.batch([
    orm.select({ orgId: oidcClientOrg.orgId }).from(oidcClientOrg).where(eq(oidcClientOrg.clientId, clientId)),
    orm
      .selectDistinct({ orgId: oidcConsent.referenceId })
      .from(oidcConsent)
      .where(and(eq(oidcConsent.clientId, clientId), isNotNull(oidcConsent.referenceId))),
    orm
      .selectDistinct({ orgId: oidcRefreshToken.referenceId })
      .from(oidcRefreshToken)
      .where(and(eq(oidcRefreshToken.clientId, clientId), isNotNull(oidcRefreshToken.referenceId))),
    orm
      .selectDistinct({ orgId: oidcAccessToken.referenceId })
      .from(oidcAccessToken)
      .where(and(eq(oidcAccessToken.clientId, clientId), isNotNull(oidcAccessToken.referenceId))),
  ]);
  const orgIds = [...minted, ...consents, ...refreshes, ...accesses]
    .map((r) => r.orgId)
    .filter((o): o is string => !!o);
  return [...new Set(orgIds)].sort();
}

/**
 * Ends the client's tokens at the provider in one batch: every refresh token
 * marked revoked (a refresh is then refused, RFC 6749 §5.2) and every opaque
 * access token deleted (userinfo and introspection stop accepting it).
 */
export async function endBrowserClientTokens(db: D1Database, clientId: string): Promise<void> {
  const orm = drizzle(db);
  await orm.batch([
    orm
      .update(oidcRefreshToken)
      .set({ revoked: new Date() })
      .where(and(eq(oidcRefreshToken.clientId, clientId), isNull(oidcRefreshToken.revoked))),
    orm.delete(oidcAccessToken).where(eq(oidcAccessToken.clientId, clientId)),
  ]);
}

/** Removes the client and everything of it the provider keeps, in one batch. */
export async function deleteBrowserClient(db: D1Database, clientId: string): Promise<void> {
  const orm = drizzle(db);
  await orm.batch([
    orm.delete(oidcAccessToken).where(eq(oidcAccessToken.clientId, clientId)),
    orm.delete(oidcRefreshToken).where(eq(oidcRefreshToken.clientId, clientId)),
    orm.delete(oidcConsent).where(eq(oidcConsent.clientId, clientId)),
    orm.delete(oidcClientResource).where(eq(oidcClientResource.clientId, clientId)),
    orm.delete(oidcClient).where(eq(oidcClient.clientId, clientId)),
    // Its revocations were recorded before this (admin/oidc-client-cutoff.ts).
    orm.delete(oidcClientOrg).where(eq(oidcClientOrg.clientId, clientId)),
  ]);
}
