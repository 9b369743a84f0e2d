import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { accountHash } from "../../workers/authn/src/limits/account-key.ts";
import { SIGN_IN_LOCKOUT_POLICY } from "../../workers/authn/src/limits/sign-in-throttle.ts";
import { apiTo, envWith, formTo, mailTo, tokenFromMail } from "./email-helpers.ts";
import { PASSWORD, signUp, uniqueEmail } from "./helpers.ts";

/**
 * The consecutive-failure cap (NIST SP 800-63B §5.2.2 / 800-63B-4 §3.2.2;
 * workers/authn/src/limits/sign-in-throttle.ts): the count lives in D1
 * (`sign_in_lockout`) and is set directly here rather than by 99 scrypt
 * sign-ins; each failure the test makes still goes through the real path.
 */
const LOCAL = envWith({});
const WRONG = "not the password at all";
const CAP = SIGN_IN_LOCKOUT_POLICY.maxConsecutiveFailures;
const NEW_PASSWORD = "a brand new passphrase for reset";
const LOCKED = {
  error: "account_locked",
  error_description:
    "Too many failed sign-ins to this account. To sign in again, ask for an unlock link (Locked out?) or reset your password (Forgot your password?).",
};

async function keyOf(email: string): Promise<string> {
  return accountHash((env as unknown as { BETTER_AUTH_SECRET: string }).BETTER_AUTH_SECRET, email);
}

async function setFailures(email: string, n: number): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO sign_in_lockout (account_key, consecutive_failures, last_failure_at) VALUES (?, ?, ?)
     ON CONFLICT (account_key) DO UPDATE SET consecutive_failures = excluded.consecutive_failures`,
  )
    .bind(await keyOf(email), n, Date.now())
    .run();
}

async function failuresOf(email: string): Promise<number | undefined> {
  const row = await env.DB.prepare("SELECT consecutive_failures AS n FROM sign_in_lockout WHERE account_key = ?")
    .bind(await keyOf(email))
    .first<{ n: number }>();
  return row?.n;
}

const signIn = (email: string, password: string) => apiTo(LOCAL, "/sign-in/email", { email, password });

describe("consecutive failed sign-ins lock the account until a reset", { timeout: 60_000 }, () => {
  it(`the ${CAP}th consecutive failure locks: even the right password is 403 account_locked, on the API and the page`, async () => {
    const person = await signUp("Guessed");
    await setFailures(person.email, CAP - 1);
    expect((await signIn(person.email, WRONG)).status).toBe(401);
    expect(await failuresOf(person.email)).toBe(CAP);

    const locked = await signIn(person.email, PASSWORD);
    expect(locked.status).toBe(403);
    expect(await locked.json()).toEqual(LOCKED);
    const page = await formTo(LOCAL, "/sign-in", { email: person.email, password: PASSWORD });
    expect(page.status).toBe(403);
    expect(await page.text()).toContain("ask for an unlock link (Locked out?) or reset your password");
    // Refused before any password is checked: nothing more is counted.
    expect(await failuresOf(person.email)).toBe(CAP);
  });

  it("an unknown address gets the identical answers, failure and lock alike", async () => {
    const person = await signUp("Known");
    const stranger = uniqueEmail();
    await setFailures(person.email, CAP - 1);
    await setFailures(stranger, CAP - 1);
    const [knownFailure, unknownFailure] = [await signIn(person.email, WRONG), await signIn(stranger, WRONG)];
    expect([knownFailure.status, unknownFailure.status]).toEqual([401, 401]);
    expect(await unknownFailure.text()).toBe(await knownFailure.text());
    expect(await failuresOf(stranger)).toBe(CAP);

    const [known, unknown] = [await signIn(person.email, PASSWORD), await signIn(stranger, PASSWORD)];
    expect([known.status, unknown.status]).toEqual([403, 403]);
    expect(await known.json()).toEqual(LOCKED);
    expect(await unknown.json()).toEqual(LOCKED);
  });

  it("a success before the cap clears the count; the next failure starts again at 1", async () => {
    const person = await signUp("Remembers");
    await setFailures(person.email, CAP - 2);
    expect((await signIn(person.email, PASSWORD)).status).toBe(200);
    expect(await failuresOf(person.email)).toBeUndefined();
    expect((await signIn(person.email, WRONG)).status).toBe(401);
    expect(await failuresOf(person.email)).toBe(1);
  });

  it("a completed password reset unlocks; asking for one does not", async () => {
    const person = await signUp("Locked Out");
    await setFailures(person.email, CAP);
    expect((await signIn(person.email, PASSWORD)).status).toBe(403);

    await formTo(LOCAL, "/forgot-password", { email: person.email });
    // The mail goes out after the answer: wait for it.
    await expect.poll(async () => (await mailTo(person.email)).some((m) => m.kind === "reset-password")).toBe(true);
    const token = await tokenFromMail(person.email, "reset-password");
    // Requesting a reset unlocks nothing; completing it does.
    expect((await signIn(person.email, PASSWORD)).status).toBe(403);
    expect((await apiTo(LOCAL, "/reset-password", { token, newPassword: NEW_PASSWORD })).status).toBe(200);
    expect(await failuresOf(person.email)).toBeUndefined();
    expect((await signIn(person.email, NEW_PASSWORD)).status).toBe(200);
  });

  it("counts concurrent failures exactly: one atomic upsert each", async () => {
    const person = await signUp("Parallel");
    await setFailures(person.email, 10);
    const answers = await Promise.all(Array.from({ length: 5 }, () => signIn(person.email, WRONG)));
    expect(answers.map((answer) => answer.status)).toEqual([401, 401, 401, 401, 401]);
    expect(await failuresOf(person.email)).toBe(15);
  });
});
