import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { session } from "../../../../shared/db/schema.ts";
import type { SessionLimits } from "../config.ts";

/**
 * Idle and absolute session timeouts (ASVS 5.0 V7.3.1, V7.3.2).
 *
 * Idle: Better Auth's sliding expiry. A session expires `expiresIn` after it
 * was last refreshed, and a use refreshes it once `updateAge` has passed, so
 * a session unused for the idle timeout has ended (at most `updateAge`
 * sooner).
 *
 * Absolute: Better Auth has none, so every refresh is clamped here: after
 * Better Auth writes a new expiry, one that would pass the session's
 * creation plus the absolute timeout is written back as exactly that. The
 * row's `expiresAt` is what every session read checks, so the session ends
 * then however busy it is. (The config keeps absolute ≥ idle, so a new
 * session needs no clamp.)
 */
export function betterAuthSessionOptions(limits: SessionLimits) {
  return {
    expiresIn: limits.idleTimeoutSeconds,
    updateAge: Math.min(24 * 60 * 60, Math.floor(limits.idleTimeoutSeconds / 7)),
    freshAge: limits.freshAgeSeconds,
    // Off: a cached session in a cookie would outlive its revocation and a
    // pending second factor (GHSA-xg6x-h9c9-2m83); every request reads D1.
    cookieCache: { enabled: false },
  };
}

interface UpdatedSession {
  id: string;
  createdAt: Date | string | number;
  expiresAt: Date | string | number;
}

/** Better Auth's `session.update.after` hook: the absolute timeout's clamp. */
export function clampToAbsoluteTimeout(env: { DB: D1Database }, limits: SessionLimits) {
  return async (updated: UpdatedSession | null) => {
    if (!updated) return;
    const limit = new Date(updated.createdAt).getTime() + limits.absoluteTimeoutSeconds * 1000;
    if (new Date(updated.expiresAt).getTime() <= limit) return;
    await drizzle(env.DB)
      .update(session)
      .set({ expiresAt: new Date(limit) })
      .where(eq(session.id, updated.id));
  };
}
