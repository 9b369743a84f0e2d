import { and, asc, eq, inArray, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { afterPosition, type PageRequest } from "../../../../shared/db/keyset-page.ts";
import { oauthClient } from "../../../../shared/db/machine-schema.ts";
import { vaultConnection, vaultConnectionAgent } from "../../../../shared/db/vault-schema.ts";
import type { ProviderRow } from "./providers.ts";
import { sealField } from "./sealed-field.ts";
import type { UpstreamTokens } from "./upstream-token.ts";
import { orgDataKey } from "./vault-key.ts";

export type ConnectionRow = typeof vaultConnection.$inferSelect;

export type OwnerKind = ConnectionRow["ownerKind"];

export type TokenColumn = "access_token" | "refresh_token";

/** Where a connection's token is sealed: its own row and column. */
export function tokenPlace(row: Pick<ConnectionRow, "orgId" | "id">, column: TokenColumn) {
  return { orgId: row.orgId, table: "vault_connection", rowId: row.id, column };
}

/** Metadata only: no answer of ours ever carries a saved token. */
export function connectionView(row: ConnectionRow, agents: readonly string[] = []) {
  return {
    id: row.id,
    org_id: row.orgId,
    provider_id: row.providerId,
    resource: row.resource,
    owner: { kind: row.ownerKind, id: row.ownerId },
    token_endpoint: row.tokenEndpoint,
    client_id: row.clientId,
    has_refresh_token: row.refreshTokenSealed !== null,
    expires_at: row.expiresAt?.toISOString() ?? null,
    scopes: row.scopes ? row.scopes.split(" ") : [],
    agents,
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
  };
}

/** The sealed columns for tokens, on the row whose id they are bound to. */
export async function sealTokens(
  db: D1Database,
  secret: string,
  row: Pick<ConnectionRow, "orgId" | "id">,
  tokens: UpstreamTokens,
  previousRefreshSealed: string | null = null,
) {
  const key = await orgDataKey(db, secret, row.orgId);
  return {
    accessTokenSealed: await sealField(key, tokenPlace(row, "access_token"), tokens.accessToken),
    // RFC 6749 §6: without a new refresh token, the one we had stays valid.
    refreshTokenSealed:
      tokens.refreshToken === null
        ? previousRefreshSealed
        : await sealField(key, tokenPlace(row, "refresh_token"), tokens.refreshToken),
    tokenType: tokens.tokenType,
    expiresAt: tokens.expiresAt === null ? null : new Date(tokens.expiresAt),
  };
}

export interface SaveConnection {
  provider: ProviderRow;
  ownerKind: OwnerKind;
  ownerId: string;
  tokens: UpstreamTokens;
  createdBy: string;
}

/**
 * Saves what a connection flow obtained: one connection per (provider,
 * owner), so connecting again replaces the tokens and keeps the row (and
 * the agents bound to it). The tokens are sealed for the row's id, so the
 * id is settled first: a new row's is inserted, an existing row's is read.
 */
export async function saveConnection(db: D1Database, secret: string, save: SaveConnection): Promise<ConnectionRow> {
  const orm = drizzle(db);
  const { provider } = save;
  const now = new Date();
  const scopes = save.tokens.scope ?? provider.scopes;
  const id = `vcn_${crypto.randomUUID().replaceAll("-", "")}`;
  const inserted = await orm
    .insert(vaultConnection)
    .values({
      id,
      orgId: provider.orgId,
      providerId: provider.id,
      resource: provider.resource,
      ownerKind: save.ownerKind,
      ownerId: save.ownerId,
      tokenEndpoint: provider.tokenEndpoint,
      clientId: provider.clientId,
      ...(await sealTokens(db, secret, { orgId: provider.orgId, id }, save.tokens)),
      scopes,
      createdBy: save.createdBy,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing()
    .returning()
    .get();
  if (inserted) return inserted;
  const existing = await orm
    .select({ id: vaultConnection.id })
    .from(vaultConnection)
    .where(
      and(
        eq(vaultConnection.orgId, provider.orgId),
        eq(vaultConnection.providerId, provider.id),
        eq(vaultConnection.ownerId, save.ownerId),
      ),
    )
    .get();
  if (!existing) throw new Error("vault connection neither inserted nor found");
  const updated = await orm
    .update(vaultConnection)
    .set({
      ...(await sealTokens(db, secret, { orgId: provider.orgId, id: existing.id }, save.tokens)),
      resource: provider.resource,
      tokenEndpoint: provider.tokenEndpoint,
      clientId: provider.clientId,
      scopes,
      createdBy: save.createdBy,
      updatedAt: now,
    })
    .where(eq(vaultConnection.id, existing.id))
    .returning()
    .get();
  if (!updated) throw new Error("vault connection vanished while it was saved");
  return updated;
}

export async function agentsOf(db: D1Database, connectionId: string): Promise<string[]> {
  const rows = await drizzle(db)
    .select({ clientId: vaultConnectionAgent.clientId })
    .from(vaultConnectionAgent)
    .where(eq(vaultConnectionAgent.connectionId, connectionId))
    .orderBy(asc(vaultConnectionAgent.clientId))
    .all();
  return rows.map((r) => r.clientId);
}

/**
 * A page of the org's connections, oldest first, each with its agents:
 * `page.limit + 1` of them, the extra one saying that another page follows
 * (shared/db/keyset-page.ts).
 */
export async function listConnections(db: D1Database, orgId: string, page: PageRequest) {
  const orm = drizzle(db);
  const inPage = and(
    eq(vaultConnection.orgId, orgId),
    afterPosition(vaultConnection.createdAt, vaultConnection.id, page.after),
  );
  const order = [asc(vaultConnection.createdAt), asc(vaultConnection.id)];
  // The page's bindings chosen by the page's own query as a subquery: its ids
  // as bound parameters would pass D1's 100-parameter cap on a large page.
  const pageIds = orm
    .select({ id: vaultConnection.id })
    .from(vaultConnection)
    .where(inPage)
    .orderBy(...order)
    .limit(page.limit + 1);
  const [rows, bindings] = await orm.batch([
    orm
      .select()
      .from(vaultConnection)
      .where(inPage)
      .orderBy(...order)
      .limit(page.limit + 1),
    orm
      .select()
      .from(vaultConnectionAgent)
      .where(and(eq(vaultConnectionAgent.orgId, orgId), inArray(vaultConnectionAgent.connectionId, pageIds)))
      .orderBy(asc(vaultConnectionAgent.clientId)),
  ]);
  return rows.map((row) =>
    connectionView(
      row,
      bindings.filter((b) => b.connectionId === row.id).map((b) => b.clientId),
    ),
  );
}

export async function getConnection(db: D1Database, orgId: string, id: string): Promise<ConnectionRow | null> {
  const row = await drizzle(db)
    .select()
    .from(vaultConnection)
    .where(and(eq(vaultConnection.orgId, orgId), eq(vaultConnection.id, id)))
    .get();
  return row ?? null;
}

/**
 * Deletes the connection and its bindings in one batch. Returns the row as
 * the delete found it (null when there was none): the tokens to revoke at
 * the provider are the ones it held then, not ones read before a refresh
 * that raced the delete rotated them.
 */
export async function deleteConnection(db: D1Database, orgId: string, id: string): Promise<ConnectionRow | null> {
  const orm = drizzle(db);
  const [, deleted] = await orm.batch([
    orm
      .delete(vaultConnectionAgent)
      .where(and(eq(vaultConnectionAgent.orgId, orgId), eq(vaultConnectionAgent.connectionId, id))),
    orm
      .delete(vaultConnection)
      .where(and(eq(vaultConnection.orgId, orgId), eq(vaultConnection.id, id)))
      .returning(),
  ]);
  return deleted[0] ?? null;
}

export type BindOutcome = "bound" | "no_connection" | "no_client";

/** Lets one of the org's clients use the connection (idempotent). */
export async function bindAgent(
  db: D1Database,
  orgId: string,
  connectionId: string,
  clientId: string,
  createdBy: string,
): Promise<BindOutcome> {
  const orm = drizzle(db);
  const [connection, client] = await orm.batch([
    orm
      .select({ id: vaultConnection.id })
      .from(vaultConnection)
      .where(and(eq(vaultConnection.orgId, orgId), eq(vaultConnection.id, connectionId))),
    orm
      .select({ clientId: oauthClient.clientId })
      .from(oauthClient)
      .where(and(eq(oauthClient.orgId, orgId), eq(oauthClient.clientId, clientId))),
  ]);
  if (connection.length === 0) return "no_connection";
  if (client.length === 0) return "no_client";
  await orm
    .insert(vaultConnectionAgent)
    .values({ connectionId, clientId, orgId, createdBy, createdAt: new Date() })
    .onConflictDoNothing();
  return "bound";
}

export async function unbindAgent(db: D1Database, orgId: string, connectionId: string, clientId: string) {
  const rows = await drizzle(db)
    .delete(vaultConnectionAgent)
    .where(
      and(
        eq(vaultConnectionAgent.orgId, orgId),
        eq(vaultConnectionAgent.connectionId, connectionId),
        eq(vaultConnectionAgent.clientId, clientId),
      ),
    )
    .returning()
    .all();
  return rows.length > 0;
}

/**
 * The connections that could serve a request for `resource` in the org: the
 * subject's own first, then the org's, each with whether `agentClientId` is
 * bound to it.
 */
export async function candidateConnections(
  db: D1Database,
  request: { orgId: string; subject: string; resource: string; agentClientId: string },
): Promise<{ row: ConnectionRow; bound: boolean }[]> {
  const rows = await drizzle(db)
    .select({ row: vaultConnection, bound: vaultConnectionAgent.clientId })
    .from(vaultConnection)
    .leftJoin(
      vaultConnectionAgent,
      and(
        eq(vaultConnectionAgent.connectionId, vaultConnection.id),
        eq(vaultConnectionAgent.clientId, request.agentClientId),
      ),
    )
    .where(
      and(
        eq(vaultConnection.orgId, request.orgId),
        eq(vaultConnection.resource, request.resource),
        or(
          and(eq(vaultConnection.ownerKind, "user"), eq(vaultConnection.ownerId, request.subject)),
          eq(vaultConnection.ownerKind, "org"),
        ),
      ),
    )
    .all();
  return rows
    .map((r) => ({ row: r.row, bound: r.bound !== null }))
    .sort((a, b) => (a.row.ownerKind === b.row.ownerKind ? 0 : a.row.ownerKind === "user" ? -1 : 1));
}
