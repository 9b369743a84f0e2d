import { and, asc, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { vaultConnection, vaultConnectionAgent, vaultProvider } from "../../../../shared/db/vault-schema.ts";
import type { ConnectionRow } from "./connections.ts";
import { openField, sealField } from "./sealed-field.ts";
import type { ProviderClient } from "./upstream-token.ts";
import { orgDataKey } from "./vault-key.ts";

export type ProviderRow = typeof vaultProvider.$inferSelect;

export interface ProviderFields {
  name: string;
  resource: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** RFC 7009 §2; null (or absent at creation) when the provider has no revocation endpoint. */
  revocationEndpoint?: string | null;
  clientId: string;
  /** Null: a public client at the provider (PKCE only). */
  clientSecret: string | null;
  scopes: readonly string[];
}

/** Where a provider's client secret is sealed: its own row and column. */
function secretPlace(orgId: string, id: string) {
  return { orgId, table: "vault_provider", rowId: id, column: "client_secret" };
}

/** What the admin API shows: never the secret, only whether there is one. */
export function providerView(row: ProviderRow) {
  return {
    id: row.id,
    org_id: row.orgId,
    name: row.name,
    resource: row.resource,
    authorization_endpoint: row.authorizationEndpoint,
    token_endpoint: row.tokenEndpoint,
    revocation_endpoint: row.revocationEndpoint,
    client_id: row.clientId,
    has_client_secret: row.clientSecretSealed !== null,
    scopes: row.scopes ? row.scopes.split(" ") : [],
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** Null when the name is taken in the org (unique index). */
export async function createProvider(
  db: D1Database,
  secret: string,
  orgId: string,
  fields: ProviderFields,
): Promise<ProviderRow | null> {
  const id = `vpr_${crypto.randomUUID().replaceAll("-", "")}`;
  const now = new Date();
  const sealed =
    fields.clientSecret === null
      ? null
      : await sealField(await orgDataKey(db, secret, orgId), secretPlace(orgId, id), fields.clientSecret);
  const row = await drizzle(db)
    .insert(vaultProvider)
    .values({
      id,
      orgId,
      name: fields.name,
      resource: fields.resource,
      authorizationEndpoint: fields.authorizationEndpoint,
      tokenEndpoint: fields.tokenEndpoint,
      revocationEndpoint: fields.revocationEndpoint ?? null,
      clientId: fields.clientId,
      clientSecretSealed: sealed,
      scopes: fields.scopes.join(" "),
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing()
    .returning()
    .get();
  return row ?? null;
}

/** Applies the fields given; a new `clientSecret` is sealed, null removes it. Null when there is no such provider. */
export async function updateProvider(
  db: D1Database,
  secret: string,
  orgId: string,
  id: string,
  fields: Partial<ProviderFields>,
): Promise<ProviderRow | null> {
  const { clientSecret, scopes, ...plain } = fields;
  const set: Partial<typeof vaultProvider.$inferInsert> = { ...plain, updatedAt: new Date() };
  if (scopes !== undefined) set.scopes = scopes.join(" ");
  if (clientSecret !== undefined) {
    set.clientSecretSealed =
      clientSecret === null
        ? null
        : await sealField(await orgDataKey(db, secret, orgId), secretPlace(orgId, id), clientSecret);
  }
  const row = await drizzle(db)
    .update(vaultProvider)
    .set(set)
    .where(and(eq(vaultProvider.orgId, orgId), eq(vaultProvider.id, id)))
    .returning()
    .get();
  return row ?? null;
}

export async function getProvider(db: D1Database, orgId: string, id: string): Promise<ProviderRow | null> {
  const row = await drizzle(db)
    .select()
    .from(vaultProvider)
    .where(and(eq(vaultProvider.orgId, orgId), eq(vaultProvider.id, id)))
    .get();
  return row ?? null;
}

export async function getProviderByName(db: D1Database, orgId: string, name: string): Promise<ProviderRow | null> {
  const row = await drizzle(db)
    .select()
    .from(vaultProvider)
    .where(and(eq(vaultProvider.orgId, orgId), eq(vaultProvider.name, name)))
    .get();
  return row ?? null;
}

export function listProviders(db: D1Database, orgId: string): Promise<ProviderRow[]> {
  return drizzle(db)
    .select()
    .from(vaultProvider)
    .where(eq(vaultProvider.orgId, orgId))
    .orderBy(asc(vaultProvider.name))
    .all();
}

/**
 * Deletes the provider with every connection made through it and their
 * agent bindings, in one D1 batch: a connection without its provider could
 * not be refreshed, and its tokens should not outlive the operator's choice.
 * Null when there is no such provider; else the rows as the delete found
 * them (the provider's and its connections', whose tokens are then revoked
 * at the provider).
 */
export async function deleteProvider(
  db: D1Database,
  orgId: string,
  id: string,
): Promise<{ provider: ProviderRow; connections: ConnectionRow[] } | null> {
  const orm = drizzle(db);
  const connections = orm
    .select({ id: vaultConnection.id })
    .from(vaultConnection)
    .where(and(eq(vaultConnection.orgId, orgId), eq(vaultConnection.providerId, id)));
  const [, deletedConnections, deletedProvider] = await orm.batch([
    orm.delete(vaultConnectionAgent).where(inArray(vaultConnectionAgent.connectionId, connections)),
    orm
      .delete(vaultConnection)
      .where(and(eq(vaultConnection.orgId, orgId), eq(vaultConnection.providerId, id)))
      .returning(),
    orm
      .delete(vaultProvider)
      .where(and(eq(vaultProvider.orgId, orgId), eq(vaultProvider.id, id)))
      .returning(),
  ]);
  const [provider] = deletedProvider;
  return provider ? { provider, connections: deletedConnections } : null;
}

/**
 * How we authenticate at the provider: its client secret unsealed (RFC 6749
 * §2.3.1), always with the client id and token endpoint of the same row — the
 * secret was set for that pair, and is never sent with another.
 */
export async function providerClient(db: D1Database, secret: string, row: ProviderRow): Promise<ProviderClient> {
  const clientSecret =
    row.clientSecretSealed === null
      ? null
      : await openField(
          await orgDataKey(db, secret, row.orgId),
          secretPlace(row.orgId, row.id),
          row.clientSecretSealed,
        );
  return { tokenEndpoint: row.tokenEndpoint, clientId: row.clientId, clientSecret };
}
