import { AsyncLocalStorage } from "node:async_hooks";
import type { InternalAdapter } from "@better-auth/core";
import type { MiddlewareHandler } from "hono";
import { type LogoutSender, type SessionLogout, sendLogoutTokens } from "../../../../shared/oidc/backchannel-logout.ts";

/**
 * One request's back-channel Logout Tokens (OIDC Back-Channel Logout 1.0),
 * sent together once the request's work is done.
 *
 * Why per request: sendLogoutTokens shares its six places, its down set (a
 * receiver that stalled or could not be reached is tried once) and its
 * delivery cap among what it is given, so each call of it is one sender. One
 * request that ends many sessions should be one sender; but Better Auth ends
 * them in delete calls of its own, and `/revoke-other-sessions` makes one
 * per session, all at once. Gathered per call, the sends were one per session
 * whenever one call's `after` ran before another's `before`, and a call whose
 * delete failed held back the notices of the sessions other calls had
 * planned into its batch. Here every call of the request plans into one
 * outbox, and it is sent when the last of them has settled, whatever order
 * they ran in and whichever of them failed.
 *
 * What the outbox holds:
 * - a plan, from the `session.delete` `before` hook, while the rows naming
 *   the session's clients still exist (oidc/backchannel-logout.ts);
 * - "deleted", only from the session's own `after` hook: Better Auth runs it
 *   once that session's delete has succeeded, so a session whose delete
 *   failed, or a later hook vetoed, is never announced (nothing ended).
 *   A plan left without its `after` when the request's calls are all over is
 *   dropped: nothing is sent for it, and it costs no other session its notice.
 *
 * When it is sent: after the request's handler has answered, and after every
 * session-ending call of Better Auth's started in the request has settled
 * (countSessionEnds). The wait matters because Better Auth answers as soon
 * as one of `/revoke-other-sessions`' concurrent calls fails (Promise.all),
 * while the others may still be deleting and running their hooks: in the
 * background (ctx.waitUntil) the request stays alive for them, so they finish
 * and their sessions are told in the same one send. Nothing here holds up or
 * fails the answer (§2.8).
 *
 * Once sent, the outbox takes no more plans: a `before` running after that
 * (work no counted call covers, still going in the background) is refused by
 * plan() and falls back to the per-call batches, and a plan the outbox held
 * whose `after` comes only then is handed back by confirm() to that `after`,
 * to send on its own: nothing is silently dropped. A counted call that never
 * settles (its D1 statements and our hooks' Durable Object calls all hang)
 * holds the send back until the runtime ends the request's background work,
 * about 30 s after the answer, and then nothing of the request is sent.
 */
export class LogoutOutbox {
  private readonly planned = new Map<string, SessionLogout>();
  private readonly deleted = new Map<string, SessionLogout>();
  private sender: LogoutSender | undefined;
  private calls = 0;
  private settled: (() => void) | undefined;
  private sent = false;

  /** Plans a session's notice; false once the outbox has been sent (the caller then sends it itself). */
  plan(logout: SessionLogout, sender: LogoutSender): boolean {
    if (this.sent) return false;
    this.planned.set(logout.sessionId, logout);
    this.sender ??= sender;
    return true;
  }

  /**
   * The session's delete succeeded (its `after` hook): "queued" when it goes
   * with the request's send; its plan when that send has already gone (to be
   * sent by the caller); undefined when this outbox has no plan for it (not
   * planned here, or already confirmed by another call ending the same
   * session: one Logout Token per client per session).
   */
  confirm(sessionId: string): "queued" | SessionLogout | undefined {
    const logout = this.planned.get(sessionId);
    if (!logout) return undefined;
    this.planned.delete(sessionId);
    if (this.sent) return logout;
    this.deleted.set(sessionId, logout);
    return "queued";
  }

  /** Runs one of Better Auth's session-ending calls; the outbox is not sent while any is under way. */
  async track<T>(call: () => Promise<T>): Promise<T> {
    this.calls++;
    try {
      return await call();
    } finally {
      this.calls--;
      if (this.calls === 0) this.settled?.();
    }
  }

  /** The request has answered: the send, for the background, or undefined when there is nothing to wait for. */
  close(): Promise<void> | undefined {
    if (this.calls === 0 && this.planned.size === 0 && this.deleted.size === 0) {
      this.sent = true;
      return undefined;
    }
    return this.sendWhenSettled();
  }

  private async sendWhenSettled(): Promise<void> {
    while (this.calls > 0) {
      await new Promise<void>((resolve) => {
        this.settled = resolve;
      });
    }
    this.sent = true;
    const logouts = [...this.deleted.values()];
    this.deleted.clear();
    if (logouts.length > 0 && this.sender) await sendLogoutTokens(logouts, this.sender);
  }
}

const outboxes = new AsyncLocalStorage<LogoutOutbox>();

/** The outbox of the request being served, if the hook runs inside one. */
export function currentOutbox(): LogoutOutbox | undefined {
  return outboxes.getStore();
}

/**
 * Every request of the authn Worker gets an outbox, so that Better Auth's
 * endpoints and our own pages calling `auth.api.*` (which may carry no
 * request for the hooks to key on) share one per request: AsyncLocalStorage
 * follows the request's work into every hook, awaited or not, as it does
 * for Better Auth's own endpoint context.
 */
export const logoutOutbox: MiddlewareHandler = async (c, next) => {
  const outbox = new LogoutOutbox();
  try {
    await outboxes.run(outbox, next);
  } finally {
    const sending = outbox.close();
    if (sending) c.executionCtx.waitUntil(sending);
  }
};

type SessionEnding = Pick<InternalAdapter, "deleteSession" | "deleteSessions" | "deleteUserSessions" | "deleteUser">;
const counted = new WeakSet<SessionEnding>();

/** `call`, counted toward the current request's outbox if there is one. */
function counting<T>(call: () => Promise<T>): Promise<T> {
  const outbox = outboxes.getStore();
  return outbox ? outbox.track(call) : call();
}

/**
 * Better Auth's session-ending calls (the internal adapter's; every endpoint
 * ends sessions, with their hooks, through one of these) count toward the
 * current request's outbox, so the outbox knows when they have all settled,
 * a failed one included: their hooks alone cannot say so, since a failed
 * delete runs no `after`. Outside a request they run as they are. Once per
 * Better Auth instance (auth/create-auth.ts).
 */
export function countSessionEnds(adapter: SessionEnding): void {
  if (counted.has(adapter)) return;
  counted.add(adapter);
  const { deleteSession, deleteSessions, deleteUserSessions, deleteUser } = adapter;
  adapter.deleteSession = (token) => counting(() => deleteSession(token));
  adapter.deleteSessions = (tokens) => counting(() => deleteSessions(tokens));
  adapter.deleteUserSessions = (userId) => counting(() => deleteUserSessions(userId));
  adapter.deleteUser = (userId) => counting(() => deleteUser(userId));
}
