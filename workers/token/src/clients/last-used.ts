import { and, eq, isNull, lt, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { oauthClient } from "../../../../shared/db/machine-schema.ts";
import type { ClientRegistration } from "./types.ts";

/**
 * `last_used_at` is for people (which clients are idle, which can go), so a
 * minute's precision is enough: a client that minted within the last minute
 * is not written again, which keeps D1's primary out of the mint path.
 */
const LAST_USED_PRECISION_MS = 60_000;

/**
 * Records that a client minted, for `waitUntil`: never awaited by the
 * request, never rejects (a failure is logged; the token was issued anyway).
 */
export function touchLastUsed(db: D1Database, client: ClientRegistration): Promise<void> | undefined {
  const now = Date.now();
  if (client.lastUsedAt && now - client.lastUsedAt.getTime() < LAST_USED_PRECISION_MS) return undefined;
  const staleBefore = new Date(now - LAST_USED_PRECISION_MS);
  return drizzle(db)
    .update(oauthClient)
    .set({ lastUsedAt: new Date(now) })
    .where(
      and(
        eq(oauthClient.clientId, client.clientId),
        or(isNull(oauthClient.lastUsedAt), lt(oauthClient.lastUsedAt, staleBefore)),
      ),
    )
    .run()
    .then(
      () => undefined,
      (error: unknown) => console.error("last_used_at update failed", client.clientId, error),
    );
}
