import type { InviteState } from "../../../../shared/contracts/host-invites.ts";
import { and, eq, gt, isNotNull, isNull, lte, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { JWK } from "jose";
import { GRANT_TYPE } from "../../../../shared/contracts/tokens.ts";
import { organization } from "../../../../shared/db/auth-schema.ts";
import { newestFirstPage, type PageRequest } from "../../../../shared/db/keyset-page.ts";
import { hostInvite, oauthClient } from "../../../../shared/db/machine-schema.ts";
import { HostBootstrapError } from "./errors.ts";

export type HostInviteRow = typeof hostInvite.$inferSelect;
export type NewHostInvite = typeof hostInvite.$inferInsert;

export async function insertInvite(db: D1Database, row: NewHostInvite): Promise<void> {
  await drizzle(db).insert(hostInvite).values(row);
}

export interface Redemption {
  jti: string;
  orgId: string;
  /** The new client's id (shared/crypto/client-id.ts). */
  clientId: string;
  /** The host's proven public key, as its client's only key. */
  jwk: JWK;
  now: Date;
}

/**
 * Redeems an invite and registers its host's client, atomically, in one D1
 * batch (a transaction on D1's one primary):
 *
 * 1. ONE conditional UPDATE: `redeemed_at IS NULL AND expires_at > now`,
 *    and the invite's org still exists (a deleted org's invite makes no
 *    client: its clients are refused anyway, clients/registry.ts, and a
 *    host should hear so at bootstrap, not at its first token).
 *    SQLite applies writes one at a time, so of any number of concurrent
 *    attempts exactly one finds the invite unredeemed and marks it with its
 *    own client id; every other attempt's UPDATE matches no row.
 * 2. The client INSERT selects from the invite row it just marked (`jti`
 *    and this attempt's client id), so it adds a row only for the winner,
 *    and the client gets exactly the invite's org, scopes and audiences as
 *    the row holds them. A loser inserts nothing; no invite is ever spent
 *    without its client, nor a client made without spending its invite.
 *
 * Returns the invite row if this attempt won, else undefined
 * (redemptionRefusal says why).
 */
export async function redeemInvite(db: D1Database, redemption: Redemption): Promise<HostInviteRow | undefined> {
  const d1 = drizzle(db);
  const now = redemption.now.getTime();
  const [redeemed] = await d1.batch([
    d1
      .update(hostInvite)
      .set({ redeemedAt: redemption.now, clientId: redemption.clientId })
      .where(
        and(
          eq(hostInvite.jti, redemption.jti),
          eq(hostInvite.orgId, redemption.orgId),
          isNull(hostInvite.redeemedAt),
          gt(hostInvite.expiresAt, redemption.now),
          sql`exists (select 1 from ${organization} where ${organization.id} = ${hostInvite.orgId})`,
        ),
      )
      .returning(),
    d1.insert(oauthClient).select((qb) =>
      qb
        .select({
          // In oauth_client's column order (drizzle checks it).
          clientId: sql<string>`${redemption.clientId}`.as("client_id"),
          orgId: hostInvite.orgId,
          name: sql<string>`${`host ${redemption.jti}`}`.as("name"),
          type: sql<"machine">`'machine'`.as("type"),
          ownerUserId: sql<null>`NULL`.as("owner_user_id"),
          authMethod: sql<"private_key_jwt">`'private_key_jwt'`.as("auth_method"),
          secretHash: sql<null>`NULL`.as("secret_hash"),
          // RFC 7591 §2 `jwks`: the host's one key.
          jwks: sql<string>`${JSON.stringify({ keys: [redemption.jwk] })}`.as("jwks"),
          jwksUri: sql<null>`NULL`.as("jwks_uri"),
          grantTypes: sql<string>`${GRANT_TYPE.clientCredentials}`.as("grant_types"),
          scopes: hostInvite.scopes,
          audiences: hostInvite.audiences,
          maxTtlSeconds: sql<null>`NULL`.as("max_ttl_seconds"),
          // RFC 9449 §5.2 `dpop_bound_access_tokens`, as the operator asked for it in the invite's row.
          requireDpop: hostInvite.requireDpop,
          resourceServer: sql<boolean>`0`.as("resource_server"),
          status: sql<"active">`'active'`.as("status"),
          createdAt: sql<Date>`${now}`.as("created_at"),
          updatedAt: sql<Date>`${now}`.as("updated_at"),
          lastUsedAt: sql<null>`NULL`.as("last_used_at"),
          pendingCutoff: sql<null>`NULL`.as("pending_cutoff"),
        })
        .from(hostInvite)
        .where(and(eq(hostInvite.jti, redemption.jti), eq(hostInvite.clientId, redemption.clientId))),
    ),
  ]);
  return redeemed[0];
}

/** Why an attempt that lost (redeemInvite returned nothing) was refused. */
export async function redemptionRefusal(
  db: D1Database,
  attempt: { jti: string; orgId: string; now: Date },
): Promise<HostBootstrapError> {
  const row = await drizzle(db).select().from(hostInvite).where(eq(hostInvite.jti, attempt.jti)).get();
  // A well-signed invite with no row (or another org's): never issued, or
  // withdrawn by an operator (withdrawInvite deletes the row).
  if (!row || row.orgId !== attempt.orgId) {
    return new HostBootstrapError("invite_invalid", "no such invite (never issued, or withdrawn)");
  }
  const org = await drizzle(db)
    .select({ id: organization.id })
    .from(organization)
    .where(eq(organization.id, row.orgId))
    .get();
  if (!org) return new HostBootstrapError("invite_invalid", "the invite's organization no longer exists");
  if (row.redeemedAt) return new HostBootstrapError("invite_already_used", "the invite has already been redeemed");
  return new HostBootstrapError("invite_expired", "the invite has expired");
}

/**
 * Withdraws an invite nobody has redeemed: ONE conditional DELETE
 * (`org_id = ? AND redeemed_at IS NULL`) on D1's primary, the store
 * redeemInvite spends the invite in. SQLite applies the DELETE and the
 * redemption's batch one after the other, so of a withdrawal and any number
 * of redemptions racing for one invite exactly one finds it unredeemed:
 *
 * - the DELETE first: the redemption's UPDATE and its INSERT … SELECT match
 *   no row, so no client is made, and the host is refused `invite_invalid`
 *   (redemptionRefusal: no row), as for an invite never issued;
 * - a redemption first: the DELETE matches nothing, and withdrawalRefusal
 *   says the invite was redeemed.
 *
 * Deleting the row is the whole withdrawal: a valid signature alone never
 * redeems an invite. An expired one may be withdrawn too (it redeems
 * nothing either way). Returns the withdrawn row, or undefined.
 */
export async function withdrawInvite(
  db: D1Database,
  invite: { jti: string; orgId: string },
): Promise<HostInviteRow | undefined> {
  return drizzle(db)
    .delete(hostInvite)
    .where(and(eq(hostInvite.jti, invite.jti), eq(hostInvite.orgId, invite.orgId), isNull(hostInvite.redeemedAt)))
    .returning()
    .get();
}

/** The org's invite a withdrawal did not find unredeemed: redeemed (the row), or none in this org (undefined). */
export async function inviteOfOrg(db: D1Database, invite: { jti: string; orgId: string }) {
  return drizzle(db)
    .select()
    .from(hostInvite)
    .where(and(eq(hostInvite.jti, invite.jti), eq(hostInvite.orgId, invite.orgId)))
    .get();
}

/** A stored invite's state at `now`: `expires_at` is exclusive, as redeemInvite's `expires_at > now`. */
export function inviteState(row: HostInviteRow, now: Date): InviteState {
  if (row.redeemedAt) return "redeemed";
  return row.expiresAt.getTime() > now.getTime() ? "pending" : "expired";
}

function stateCondition(state: InviteState, now: Date): SQL | undefined {
  switch (state) {
    case "pending":
      return and(isNull(hostInvite.redeemedAt), gt(hostInvite.expiresAt, now));
    case "redeemed":
      return isNotNull(hostInvite.redeemedAt);
    case "expired":
      return and(isNull(hostInvite.redeemedAt), lte(hostInvite.expiresAt, now));
  }
}

/**
 * A page of an org's invites, newest first, in one state or all:
 * `page.limit + 1` of them, the extra one saying that another page follows
 * (shared/db/keyset-page.ts).
 */
export async function listInvites(
  db: D1Database,
  query: { orgId: string; state?: InviteState; now: Date },
  page: PageRequest,
): Promise<HostInviteRow[]> {
  return newestFirstPage(
    drizzle(db).select().from(hostInvite).$dynamic(),
    { createdAt: hostInvite.createdAt, id: hostInvite.jti },
    page,
    eq(hostInvite.orgId, query.orgId),
    query.state ? stateCondition(query.state, query.now) : undefined,
  ).all();
}
