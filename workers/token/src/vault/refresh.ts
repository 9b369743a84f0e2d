import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { vaultConnection } from "../../../../shared/db/vault-schema.ts";
import { type ConnectionRow, sealTokens, tokenPlace } from "./connections.ts";
import { getProvider, providerClient } from "./providers.ts";
import { openField } from "./sealed-field.ts";
import { isUsableRefreshToken, requestUpstreamTokens, TOKEN_ENDPOINT_TIMEOUT_MS } from "./upstream-token.ts";
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
 * One refresh at a time per connection, across isolates: the refresh token
 * is presented only after claiming the row: a conditional move of its
 * `updated_at` a few seconds ahead, which lapses by itself if this isolate
 * dies, and is put back if the request fails. A provider that rotates refresh tokens and
 * detects their reuse (RFC 9700 §4.14.2) revokes the whole grant when a
 * spent one comes back, so two requests racing past expiry must not both
 * send it: the loser waits for the winner's tokens instead.
 */
export async function refreshConnection(db: D1Database, secret: string, row: ConnectionRow): Promise<ConnectionRow> {
  if (row.refreshTokenSealed === null) throw new RefreshImpossible("the connection holds no refresh token");
  const provider = await getProvider(db, row.orgId, row.providerId);
  if (!provider) throw new RefreshImpossible("the connection's provider is gone");
  if (provider.tokenEndpoint !== row.tokenEndpoint || provider.clientId !== row.clientId)
    throw new RefreshImpossible("the provider's client or token endpoint changed since the connection was made");
  // A row whose `updated_at` lies ahead is claimed by a refresh in flight until then.
  if (row.updatedAt.getTime() > Date.now()) return awaitRefresh(db, row.id, row.accessTokenSealed);
  const orm = drizzle(db);
  const claimedAt = new Date(Date.now() + REFRESH_CLAIM_MS);
  const claimed = await orm
    .update(vaultConnection)
    .set({ updatedAt: claimedAt })
    .where(and(eq(vaultConnection.id, row.id), eq(vaultConnection.updatedAt, row.updatedAt)))
    .returning({ id: vaultConnection.id })
    .get();
  if (!claimed) return awaitRefresh(db, row.id, row.accessTokenSealed);
  const whileClaimed = and(eq(vaultConnection.id, row.id), eq(vaultConnection.updatedAt, claimedAt));
  let tokens: Awaited<ReturnType<typeof requestUpstreamTokens>>;
  try {
    const key = await orgDataKey(db, secret, row.orgId);
    const refreshToken = await openField(key, tokenPlace(row, "refresh_token"), row.refreshTokenSealed);
    // A row saved before the provider's answer was checked for it (upstream-token.ts): a token with a
    // control character is no refresh token (RFC 6749 Appendix A.17), so it is not presented; the
    // access token serves while it is valid, then the use is refused and the owner reconnects.
    if (!isUsableRefreshToken(refreshToken))
      throw new RefreshImpossible("the connection's refresh token has a control character; reconnect");
    tokens = await requestUpstreamTokens(await providerClient(db, secret, provider), {
      grant_type: "refresh_token",
      refresh_token: refreshToken,
    });
  } catch (error) {
    // Released as it was, so the next request may try again and the token's lifetime reads as before.
    await orm.update(vaultConnection).set({ updatedAt: row.updatedAt }).where(whileClaimed).run();
    throw error;
  }
  const updated = await orm
    .update(vaultConnection)
    .set({
      ...(await sealTokens(db, secret, row, tokens, row.refreshTokenSealed)),
      ...(tokens.scope ? { scopes: tokens.scope } : {}),
      updatedAt: new Date(Math.max(Date.now(), row.updatedAt.getTime() + 1)),
    })
    .where(whileClaimed)
    .returning()
    .get();
  // Only a reconnect (saveConnection) or a delete moves a claimed row: its tokens, or none, stand.
  return updated ?? currentRow(db, row.id);
}

/**
 * How long a refresh holds its claim: the token request's own timeout and
 * some. A claim whose isolate died lapses by itself then.
 */
const REFRESH_CLAIM_MS = TOKEN_ENDPOINT_TIMEOUT_MS + 2_000;
const AWAIT_REFRESH_POLL_MS = 100;

async function currentRow(db: D1Database, id: string): Promise<ConnectionRow> {
  const current = await drizzle(db).select().from(vaultConnection).where(eq(vaultConnection.id, id)).get();
  if (!current) throw new RefreshImpossible("the connection was deleted while it was refreshed");
  return current;
}

/**
 * Another request holds the claim, or already refreshed: its tokens are used
 * once the row's access token changes. A claim released (or lapsed) with
 * the token unchanged means that refresh failed, and so does this one.
 */
async function awaitRefresh(db: D1Database, id: string, seenAccessToken: string): Promise<ConnectionRow> {
  const deadline = Date.now() + REFRESH_CLAIM_MS;
  for (;;) {
    const current = await currentRow(db, id);
    if (current.accessTokenSealed !== seenAccessToken) return current;
    if (current.updatedAt.getTime() <= Date.now() || Date.now() >= deadline)
      throw new RefreshImpossible("a concurrent refresh of the connection did not succeed");
    await new Promise((resolve) => setTimeout(resolve, AWAIT_REFRESH_POLL_MS));
  }
}
