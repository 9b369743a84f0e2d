import { secondFactorMarkIdentifier } from "../../../../shared/contracts/second-factor.ts";

/** The part of Better Auth's internal adapter (`ctx.context.internalAdapter`) the mark needs. */
export interface MarkStore {
  createVerificationValue(data: { identifier: string; value: string; expiresAt: Date }): Promise<unknown>;
  findVerificationValue(identifier: string): Promise<{ value: string; expiresAt: Date } | null>;
}

interface MarkableSession {
  session: { id: string; expiresAt: Date };
  user: { id: string; twoFactorEnabled?: boolean | null };
}

/**
 * Records that this session passed its person's second factor. The mark lives
 * in D1 (Better Auth's `verification` table), never in a cookie, so no cached
 * or replayed cookie can claim it (GHSA-xg6x-h9c9-2m83).
 */
export async function markSecondFactor(store: MarkStore, signedIn: MarkableSession): Promise<void> {
  await store.createVerificationValue({
    identifier: secondFactorMarkIdentifier(signedIn.session.id),
    value: signedIn.user.id,
    expiresAt: new Date(signedIn.session.expiresAt),
  });
}

/** Whether the session carries a live mark for its own user. */
export async function hasSecondFactorMark(store: MarkStore, signedIn: MarkableSession): Promise<boolean> {
  const mark = await store.findVerificationValue(secondFactorMarkIdentifier(signedIn.session.id));
  return mark !== null && mark.value === signedIn.user.id && new Date(mark.expiresAt).getTime() > Date.now();
}

/**
 * Whether the session is good enough to act with: a person without 2FA
 * passes on their password; a person with 2FA only on a marked session. A
 * session without a mark comes from a sign-in path that never asked for the
 * second factor (one Better Auth's 2FA hook does not cover, or one that
 * existed before 2FA was turned on), and fails closed.
 */
export async function secondFactorSatisfied(store: MarkStore, signedIn: MarkableSession): Promise<boolean> {
  if (!signedIn.user.twoFactorEnabled) return true;
  return hasSecondFactorMark(store, signedIn);
}
