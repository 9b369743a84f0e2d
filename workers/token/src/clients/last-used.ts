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

/** What a grant hands over: the database, and the request's `waitUntil`. */
export interface LastUsedContext {
  env: { DB: D1Database };
  waitUntil: (promise: Promise<unknown>) => void;
}

/**
 * Records that a client minted, in the background (`waitUntil`): never
 * awaited by the request, never rejects (a failure is logged; the token was
 * issued anyway). Every grant calls it once it has minted.
 */
export function touchLastUsed(context: LastUsedContext, client: ClientRegistration): void {
  const now = Date.now();
  if (client.lastUsedAt && now - client.lastUsedAt.getTime() < LAST_USED_PRECISION_MS) return;
  const staleBefore = new Date(now - LAST_USED_PRECISION_MS);
  const update = drizzle(context.env.DB)
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
  context.waitUntil(update);
}
