import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { vaultConnection } from "../../../../shared/db/vault-schema.ts";
import type { ConnectionRow } from "./connections.ts";

/** `last_used_at` is coarse on purpose: at most one D1 write per connection per minute, off the response path. */
const LAST_USED_RESOLUTION_MS = 60_000;

export async function markUsed(db: D1Database, row: ConnectionRow): Promise<void> {
  const now = Date.now();
  if (row.lastUsedAt && now - row.lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
  try {
    // Only last_used_at: updated_at orders refreshes (refresh.ts) and must not move here.
    await drizzle(db)
      .update(vaultConnection)
      .set({ lastUsedAt: new Date(now) })
      .where(eq(vaultConnection.id, row.id));
  } catch (error) {
    console.error("vault: last_used_at not written", error);
  }
}
