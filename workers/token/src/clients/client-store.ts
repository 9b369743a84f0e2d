import { and, asc, eq, isNotNull, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { afterPosition, type PageRequest } from "../../../../shared/db/keyset-page.ts";
import { oauthClient } from "../../../../shared/db/machine-schema.ts";
import { joinList, storedClientFromRow } from "./stored-client.ts";
import type { StoredClient } from "./types.ts";

/**
 * Writes to `oauth_client` (the admin API and host bootstrap create and
 * change clients through here; the token endpoint only reads,
 * clients/registry.ts). Lists are stored space-separated.
 */
export type NewClient = Omit<StoredClient, "createdAt" | "updatedAt" | "lastUsedAt" | "pendingCutoff">;

export type ClientChanges = Partial<
  Omit<StoredClient, "clientId" | "orgId" | "authMethod" | "createdAt" | "updatedAt" | "lastUsedAt" | "pendingCutoff">
>;

function listColumns(values: Partial<Pick<StoredClient, "grantTypes" | "scopes" | "audiences">>) {
  return {
    ...(values.grantTypes ? { grantTypes: joinList(values.grantTypes) } : {}),
    ...(values.scopes ? { scopes: joinList(values.scopes) } : {}),
    ...(values.audiences ? { audiences: joinList(values.audiences) } : {}),
  };
}

export async function insertClient(db: D1Database, client: NewClient): Promise<StoredClient> {
  const now = new Date();
  const { kind, grantTypes, scopes, audiences, ...rest } = client;
  const row = await drizzle(db)
    .insert(oauthClient)
    .values({
      ...rest,
      type: kind,
      grantTypes: joinList(grantTypes),
      scopes: joinList(scopes),
      audiences: joinList(audiences),
      createdAt: now,
      updatedAt: now,
      lastUsedAt: null,
      pendingCutoff: null,
    })
    .returning()
    .get();
  return storedClientFromRow(row);
}

/**
 * A page of the org's clients (orgId null: the platform's operator
 * clients), oldest first: `page.limit + 1` of them, the extra one saying
 * that another page follows (shared/db/keyset-page.ts).
 */
export async function listClients(db: D1Database, orgId: string | null, page: PageRequest): Promise<StoredClient[]> {
  const rows = await drizzle(db)
    .select()
    .from(oauthClient)
    .where(
      and(
        orgId === null ? isNull(oauthClient.orgId) : eq(oauthClient.orgId, orgId),
        afterPosition(oauthClient.createdAt, oauthClient.clientId, page.after),
      ),
    )
    .orderBy(asc(oauthClient.createdAt), asc(oauthClient.clientId))
    .limit(page.limit + 1)
    .all();
  return rows.map(storedClientFromRow);
}

/** One client of one org, or undefined (a client of another org is not found either). */
export async function findOrgClient(
  db: D1Database,
  orgId: string,
  clientId: string,
): Promise<StoredClient | undefined> {
  const row = await drizzle(db)
    .select()
    .from(oauthClient)
    .where(and(eq(oauthClient.orgId, orgId), eq(oauthClient.clientId, clientId)))
    .get();
  return row ? storedClientFromRow(row) : undefined;
}

/**
 * Writes `changes`; undefined when the client is gone (deleted since the
 * caller read it: the caller answers as if it had never found it). With
 * `pendingCutoff`, the same statement marks the row as owing a `client`
 * cut-off (admin/client-narrowing.ts), so the change and the mark land
 * together or not at all.
 */
export async function updateClient(
  db: D1Database,
  clientId: string,
  changes: ClientChanges,
  pendingCutoff?: string,
): Promise<StoredClient | undefined> {
  const row = await drizzle(db)
    .update(oauthClient)
    .set(changedColumns(changes, pendingCutoff))
    .where(eq(oauthClient.clientId, clientId))
    .returning()
    .get();
  return row ? storedClientFromRow(row) : undefined;
}

/**
 * As updateClient, but only while the row is still the one `read` was read
 * from (its `updated_at`, which every write here moves): undefined when
 * another write landed in between, or the client is gone. Whether a change
 * narrows is judged against what it read (admin/client-narrowing.ts), so
 * the write must not land on values the judgement never saw.
 */
export async function updateClientIfUnchanged(
  db: D1Database,
  read: Pick<StoredClient, "clientId" | "updatedAt">,
  changes: ClientChanges,
  pendingCutoff?: string,
): Promise<StoredClient | undefined> {
  const row = await drizzle(db)
    .update(oauthClient)
    .set(changedColumns(changes, pendingCutoff, read.updatedAt))
    .where(and(eq(oauthClient.clientId, read.clientId), eq(oauthClient.updatedAt, read.updatedAt)))
    .returning()
    .get();
  return row ? storedClientFromRow(row) : undefined;
}

function changedColumns(changes: ClientChanges, pendingCutoff: string | undefined, previous?: Date) {
  const { kind, grantTypes, scopes, audiences, ...rest } = changes;
  // Strictly after the previous write's, even within the same millisecond, so no two writes share it.
  const now = Date.now();
  const updatedAt = new Date(previous && previous.getTime() >= now ? previous.getTime() + 1 : now);
  return {
    ...rest,
    ...(kind ? { type: kind } : {}),
    ...listColumns({ grantTypes, scopes, audiences }),
    ...(pendingCutoff !== undefined ? { pendingCutoff } : {}),
    updatedAt,
  };
}

export async function deleteClient(db: D1Database, clientId: string): Promise<void> {
  await drizzle(db).delete(oauthClient).where(eq(oauthClient.clientId, clientId)).run();
}

/**
 * Clears the mark updateClient set, only if it is still this change's: a
 * later narrowing that marked the row again keeps its own until its cut-off
 * is recorded.
 */
export async function clearPendingCutoff(db: D1Database, clientId: string, pendingCutoff: string): Promise<void> {
  await drizzle(db)
    .update(oauthClient)
    .set({ pendingCutoff: null })
    .where(and(eq(oauthClient.clientId, clientId), eq(oauthClient.pendingCutoff, pendingCutoff)))
    .run();
}

/** A client whose narrowing cut-off is still owed (admin/client-narrowing.ts), with the mark to clear. */
export interface OwedCutoff {
  clientId: string;
  orgId: string | null;
  pendingCutoff: string;
}

/** Up to `limit` clients still owed a cut-off, oldest change first. */
export async function owedCutoffs(db: D1Database, limit: number): Promise<OwedCutoff[]> {
  const rows = await drizzle(db)
    .select({ clientId: oauthClient.clientId, orgId: oauthClient.orgId, pendingCutoff: oauthClient.pendingCutoff })
    .from(oauthClient)
    .where(isNotNull(oauthClient.pendingCutoff))
    .orderBy(asc(oauthClient.updatedAt))
    .limit(limit)
    .all();
  return rows.flatMap((r) => (r.pendingCutoff === null ? [] : [{ ...r, pendingCutoff: r.pendingCutoff }]));
}
