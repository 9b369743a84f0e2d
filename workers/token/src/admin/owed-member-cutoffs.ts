import { and, asc, eq, sql } from "drizzle-orm";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { organization, owedMemberCutoff } from "../../../../shared/db/schema.ts";
import { recordOperatorRevocation } from "../revocations/operator-revoke.ts";

/** A member's cut-off a change still owes (D1 `owed_member_cutoff`). */
export interface OwedMemberCutoff {
  id: string;
  orgId: string;
  userId: string;
  reason: string;
  previousRole: string;
}

/**
 * The statement that records a change's owed cut-off, for the change's own
 * D1 batch, placed right after its conditional write: SQLite's `changes()`
 * then counts that write's rows, so the row exists exactly when the write
 * changed the membership. A batch is one transaction: no change is ever
 * written without its owed cut-off, and no cut-off is owed for a write that
 * missed.
 */
export function oweMemberCutoffIfWritten(db: DrizzleD1Database, owed: OwedMemberCutoff) {
  // The org's own row is the one-row source (the route has just read it), so
  // the statement is drizzle's and goes in drizzle's batch.
  return db.insert(owedMemberCutoff).select(
    db
      .select({
        id: sql<string>`${owed.id}`.as("id"),
        orgId: organization.id,
        userId: sql<string>`${owed.userId}`.as("user_id"),
        reason: sql<string>`${owed.reason}`.as("reason"),
        previousRole: sql<string>`${owed.previousRole}`.as("previous_role"),
        createdAt: sql<Date>`${Date.now()}`.as("created_at"),
      })
      .from(organization)
      .where(and(eq(organization.id, owed.orgId), sql`changes() > 0`)),
  );
}

/**
 * Records an owed cut-off in the org's Durable Object, then clears its row.
 * 503 `temporarily_unavailable` if it cannot be recorded, and the row stays.
 * A row that cannot be cleared once the revocation is recorded only means
 * the revocation is recorded again later (harmless twice), so that is
 * logged, not refused.
 */
export async function settleMemberCutoff(
  env: TokenEnv,
  owed: OwedMemberCutoff,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<void> {
  await recordOperatorRevocation(
    env,
    { orgId: owed.orgId, kind: "subject", value: owed.userId, reason: owed.reason },
    waitUntil,
  );
  try {
    await drizzle(env.DB).delete(owedMemberCutoff).where(eq(owedMemberCutoff.id, owed.id)).run();
  } catch (error) {
    console.error("owed member cut-off recorded but not cleared", owed.orgId, error);
  }
}

/**
 * Records every cut-off still owed for one person in one org (a retry of
 * the change that owes it, or any later change of the membership, which
 * must not answer before the earlier change's cut-off is recorded). Answers
 * the oldest one settled, for the retry's answer; undefined if none was owed.
 */
export async function settleMemberCutoffsFor(
  env: TokenEnv,
  orgId: string,
  userId: string,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<OwedMemberCutoff | undefined> {
  const owed = await drizzle(env.DB)
    .select(OWED_COLUMNS)
    .from(owedMemberCutoff)
    .where(and(eq(owedMemberCutoff.orgId, orgId), eq(owedMemberCutoff.userId, userId)))
    .orderBy(asc(owedMemberCutoff.createdAt))
    .all();
  for (const row of owed) await settleMemberCutoff(env, row, waitUntil);
  return owed[0];
}

/** Owed cut-offs the cron records per run; the rest wait for the next (five minutes, wrangler.toml). */
const PER_RUN = 50;

/**
 * The cron's part (workers/token/src/scheduled.ts): a change whose cut-off
 * could not be recorded answered 503 with the change written, and its
 * operator may never retry. Until the cut-off is recorded, tokens minted
 * while the change was being written (their `iat` after the cut-off recorded
 * before it) still name the old membership; so the cron records it, within
 * one cron period of the org's object answering again.
 */
export async function finishOwedMemberCutoffs(
  env: TokenEnv,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<{ finished: number; owed: number }> {
  const owed = await drizzle(env.DB)
    .select(OWED_COLUMNS)
    .from(owedMemberCutoff)
    .orderBy(asc(owedMemberCutoff.createdAt))
    .limit(PER_RUN)
    .all();
  let finished = 0;
  for (const row of owed) {
    try {
      await settleMemberCutoff(env, row, waitUntil);
      finished++;
    } catch {
      // recordOperatorRevocation logged it; the row stays for the next run or the retry.
    }
  }
  return { finished, owed: owed.length };
}

const OWED_COLUMNS = {
  id: owedMemberCutoff.id,
  orgId: owedMemberCutoff.orgId,
  userId: owedMemberCutoff.userId,
  reason: owedMemberCutoff.reason,
  previousRole: owedMemberCutoff.previousRole,
};
