import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { accountHash } from "../../workers/authn/src/limits/account-key.ts";
import { SIGN_IN_LOCKOUT_POLICY } from "../../workers/authn/src/limits/sign-in-throttle.ts";
import { apiTo, envWith, formTo, mailTo, tokenFromMail } from "./email-helpers.ts";
import { PASSWORD, signUp } from "./helpers.ts";

/**
 * The self-service unlock's tests (account-unlock.test.ts, the page;
 * account-unlock-api.test.ts, the JSON redemption): the lock is set in D1
 * directly rather than by 100 scrypt sign-ins (as sign-in-lockout.test.ts).
 */
export const LOCAL = envWith({});
export const CAP = SIGN_IN_LOCKOUT_POLICY.maxConsecutiveFailures;
export const SECRET = (env as unknown as { BETTER_AUTH_SECRET: string }).BETTER_AUTH_SECRET;

export async function lock(email: string): Promise<void> {
  const key = await accountHash(SECRET, email);
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO sign_in_lockout (account_key, consecutive_failures, last_failure_at) VALUES (?, ?, ?)
       ON CONFLICT (account_key) DO UPDATE SET consecutive_failures = excluded.consecutive_failures`,
    ).bind(key, CAP, now),
    // …and the delay its last failures set.
    env.DB.prepare(
      `INSERT INTO sign_in_throttle (key, failures, first_failure_at, blocked_until) VALUES (?, 20, ?, ?)
       ON CONFLICT (key) DO UPDATE SET blocked_until = excluded.blocked_until`,
    ).bind(`account:${key}`, now, now + 300_000),
  ]);
}

export async function lockState(email: string) {
  const key = await accountHash(SECRET, email);
  const [lockout, throttle] = await env.DB.batch<{ n: number }>([
    env.DB.prepare("SELECT consecutive_failures AS n FROM sign_in_lockout WHERE account_key = ?").bind(key),
    env.DB.prepare("SELECT failures AS n FROM sign_in_throttle WHERE key = ?").bind(`account:${key}`),
  ]);
  return { failures: lockout?.results[0]?.n, delayed: throttle?.results[0] !== undefined };
}

export const signIn = (email: string, password = PASSWORD) => apiTo(LOCAL, "/sign-in/email", { email, password });
export const requestLink = (email: string, headers: Record<string, string> = {}) =>
  apiTo(LOCAL, "/request-account-unlock", { email }, headers);
export const unlockMails = async (email: string) => (await mailTo(email)).filter((m) => m.kind === "unlock-account");
/** The mail goes out after the answer (Better Auth's background task): wait for it. */
export async function linkFor(email: string): Promise<string> {
  await expect.poll(async () => (await unlockMails(email)).length).toBe(1);
  return tokenFromMail(email, "unlock-account");
}
export const redeem = (token: string) => formTo(LOCAL, "/unlock-sign-in", { token });
export const errorCode = (html: string) => /data-testid="error-code">([^<]*)</.exec(html)?.[1];

/** A new person whose account is locked, and the unlock link they asked for and were mailed. */
export async function lockedWithLink(name: string) {
  const person = await signUp(name);
  await lock(person.email);
  await requestLink(person.email);
  return { person, token: await linkFor(person.email) };
}

/**
 * What a redemption that unlocked leaves, by the page or as JSON: only the
 * unlock cookie (an unlock signs nobody in: the person's sessions number
 * `sessionsBefore` still), the lock and the delay cleared, and the password
 * signing in again with no reset.
 */
export async function expectUnlockedOnly(
  unlocked: Response,
  person: { userId: string; email: string },
  sessionsBefore: number,
): Promise<void> {
  const cookies = unlocked.headers.getSetCookie();
  expect(cookies).toHaveLength(1);
  expect(cookies[0]).toMatch(/^mono\.sign_in_unlock=[^;]+; Max-Age=1800; Path=\/; HttpOnly; SameSite=Lax$/);
  expect(await sessionsOf(person.userId)).toBe(sessionsBefore);
  expect(await lockState(person.email)).toEqual({ failures: undefined, delayed: false });
  expect((await signIn(person.email)).status).toBe(200);
}

export async function sessionsOf(userId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM session WHERE user_id = ?")
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

/**
 * The unlock's audit event, once the background send has landed: recorded,
 * about the person, naming the redemption path, and holding neither the
 * address nor the link's token.
 */
export async function expectUnlockAudited(
  person: { userId: string; email: string },
  token: string,
  path: string,
): Promise<void> {
  const read = () =>
    env.AUDIT_DB.prepare("SELECT outcome, subject, detail FROM audit_event WHERE kind = ? AND subject = ?")
      .bind("auth.account_unlocked", person.userId)
      .first<{ outcome: string; subject: string; detail: string }>();
  await expect.poll(read).toMatchObject({ outcome: "recorded", subject: person.userId });
  const detail = (await read())?.detail ?? "{}";
  expect(JSON.parse(detail)).toMatchObject({
    path,
    account: await accountHash(SECRET, person.email),
    consecutive_failures: CAP,
  });
  expect(detail).not.toContain(person.email);
  expect(detail).not.toContain(token);
}
