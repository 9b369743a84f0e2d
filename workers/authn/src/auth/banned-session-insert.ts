import type { BetterAuthOptions, DBAdapter } from "better-auth";
import { APIError } from "better-auth/api";

/** The message of the session table's trigger (migrations/0014_session_refuses_banned_user.sql). */
const BAN_TRIGGER_MESSAGE = "USER_BANNED";

/** What a banned person is told, by the session hook (auth/session-start.ts) and here alike. */
export function userBannedError(): APIError {
  return new APIError("FORBIDDEN", { message: "This account is banned.", code: "USER_BANNED" });
}

/** Whether the error, or one it wraps (drizzle's query error wraps D1's), is the ban trigger's abort. */
export function isBanTriggerAbort(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if (cause.message.includes(`${BAN_TRIGGER_MESSAGE}: SQLITE_CONSTRAINT`)) return true;
  }
  return false;
}

type AdapterFactory = (options: BetterAuthOptions) => DBAdapter<BetterAuthOptions>;

/**
 * Better Auth's database adapter, with a session insert the database refused
 * because the person is banned answered as the session hook answers a
 * banned person (403 `USER_BANNED`), not as a failure of ours (500). That
 * refusal is the ban trigger's: a sign-in that read the ban table just
 * before a ban was written gets past the hook, and only the trigger stops
 * its session.
 */
export function refusingBannedSessions(factory: AdapterFactory): AdapterFactory {
  return (options) => {
    const adapter = factory(options);
    const create = adapter.create;
    const refusing: typeof create = async (args) => {
      try {
        return await create(args);
      } catch (error) {
        if (args.model === "session" && isBanTriggerAbort(error)) throw userBannedError();
        throw error;
      }
    };
    return { ...adapter, create: refusing };
  };
}
