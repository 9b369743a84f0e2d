import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { vaultConnection } from "../../../../shared/db/vault-schema.ts";
import { type ConnectionRow, sealTokens, tokenPlace } from "./connections.ts";
import { getProvider, providerClient } from "./providers.ts";
import { openField } from "./sealed-field.ts";
import { requestUpstreamTokens } from "./upstream-token.ts";
import { orgDataKey } from "./vault-key.ts";

/**
 * Why a connection could not be refreshed: no refresh token, the provider (or
 * its row) is gone, or the provider now names another client or token endpoint.
 */
export class RefreshImpossible extends Error {
  override readonly name = "RefreshImpossible";
}

/**
 * RFC 6749 §6: a new access token for the connection, with the client the
 * tokens were issued to and at the token endpoint they came from — and only
 * while the provider still names that client and endpoint. The provider's
 * secret was set for its current pair; after an admin changes either (a move
 * from a test app to production, say), sending it with the pair the
 * connection was made with would hand the new secret to the old host
 * (RFC 6749 §2.3.1: a client's credentials are for its own authorization
 * server). Such a refresh is refused, and the owner connects again. The
 * secret, client id and endpoint come from one read of the provider's row.
 *
 * The row is updated only if no other refresh got there first (its
 * `updated_at` is unchanged); the loser of such a race uses the winner's
 * tokens, since a provider that rotates refresh tokens (RFC 9700 §4.14.2)
 * has already spent the one both read.
 */
export async function refreshConnection(db: D1Database, secret: string, row: ConnectionRow): Promise<ConnectionRow> {
  if (row.refreshTokenSealed === null) throw new RefreshImpossible("the connection holds no refresh token");
  const provider = await getProvider(db, row.orgId, row.providerId);
  if (!provider) throw new RefreshImpossible("the connection's provider is gone");
  if (provider.tokenEndpoint !== row.tokenEndpoint || provider.clientId !== row.clientId)
    throw new RefreshImpossible("the provider's client or token endpoint changed since the connection was made");
  const key = await orgDataKey(db, secret, row.orgId);
  const refreshToken = await openField(key, tokenPlace(row, "refresh_token"), row.refreshTokenSealed);
  const tokens = await requestUpstreamTokens(await providerClient(db, secret, provider), {
    grant_type: "refresh_token",
    refresh_token: refreshToken,
  });
  const orm = drizzle(db);
  const updated = await orm
    .update(vaultConnection)
    .set({
      ...(await sealTokens(db, secret, row, tokens, row.refreshTokenSealed)),
      ...(tokens.scope ? { scopes: tokens.scope } : {}),
      updatedAt: new Date(Math.max(Date.now(), row.updatedAt.getTime() + 1)),
    })
    .where(and(eq(vaultConnection.id, row.id), eq(vaultConnection.updatedAt, row.updatedAt)))
    .returning()
    .get();
  if (updated) return updated;
  const winner = await orm.select().from(vaultConnection).where(eq(vaultConnection.id, row.id)).get();
  if (!winner) throw new RefreshImpossible("the connection was deleted while it was refreshed");
  return winner;
}
