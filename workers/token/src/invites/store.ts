import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { JWK } from "jose";
import { GRANT_TYPE } from "../../../../shared/contracts/tokens.ts";
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
 * 1. ONE conditional UPDATE: `redeemed_at IS NULL AND expires_at > now`.
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
          requireDpop: sql<boolean>`0`.as("require_dpop"),
          resourceServer: sql<boolean>`0`.as("resource_server"),
          status: sql<"active">`'active'`.as("status"),
          createdAt: sql<Date>`${now}`.as("created_at"),
          updatedAt: sql<Date>`${now}`.as("updated_at"),
          lastUsedAt: sql<null>`NULL`.as("last_used_at"),
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
  // A well-signed invite with no row (or another org's): the row was
  // deleted, which is how an operator withdraws an invite.
  if (!row || row.orgId !== attempt.orgId) return new HostBootstrapError("invite_invalid", "no such invite");
  if (row.redeemedAt) return new HostBootstrapError("invite_already_used", "the invite has already been redeemed");
  return new HostBootstrapError("invite_expired", "the invite has expired");
}
