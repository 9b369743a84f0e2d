import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { signInThrottle } from "../../shared/db/schema.ts";
import {
  accountThrottleKey,
  addressThrottleKey,
  delayAfter,
  recordSignInFailure,
  SIGN_IN_THROTTLE_POLICY,
  type ThrottleKey,
} from "../../workers/authn/src/limits/sign-in-throttle.ts";
import { createUnlockToken } from "../../workers/authn/src/limits/unlock-sign-in.ts";
import { accountHash } from "../../workers/authn/src/limits/account-key.ts";
import { clientAddressKey } from "../../shared/rate-limit/client-address.ts";
import { apiTo, envWith, formTo, getFrom, linksIn, mailTo, tokenFromMail } from "./email-helpers.ts";
import { ACCOUNT_LIMIT, inOneWindow } from "../support/credential-limits.ts";
import { clientAddress, cookiesFrom, PASSWORD, signUp, uniqueEmail } from "./helpers.ts";

const LOCAL = envWith({});
const WRONG = "not the password at all";
const FREE = SIGN_IN_THROTTLE_POLICY.freeFailuresPerAccount;

/**
 * Pauses the clock the Worker reads (it runs in this isolate, so `Date` is
 * the test's): a wait the throttle stored (2 s after the first slowing
 * failure) cannot run out between a failure and the attempt that checks it,
 * however slow the machine. Not for a run through `inOneWindow`: the rate
 * limiters count in the real clock's windows.
 */
function pauseClock() {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now());
}
afterEach(() => {
  vi.useRealTimers();
});

/** The answer to an attempt made, on a paused clock, while its account or address must wait `seconds`. */
async function expectDelayed(response: Response, seconds = delayAfter(FREE + 1, FREE)) {
  expect(response.status).toBe(429);
  expect(response.headers.get("Retry-After")).toBe(String(seconds));
  const body = (await response.json()) as { error: string };
  expect(body.error).toBe("rate_limited");
}

/** `n` wrong passwords for `email`, each from its own address (so only the account counts). */
async function failures(email: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await apiTo(LOCAL, "/sign-in/email", { email, password: WRONG })).status);
  return statuses;
}

/**
 * `n` failures counted straight into the throttle, as the Worker counts a
 * wrong password (`recordSignInFailure`, same keys): each one over HTTP
 * costs a password hash, so a test spends those only on the attempts that
 * cross the line it checks. The first test counts every failure over HTTP.
 */
async function earlierFailures(n: number, who: { email: string } | { address: string }) {
  let key: ThrottleKey;
  let account: string | undefined;
  if ("email" in who) {
    account = await accountHash(env.BETTER_AUTH_SECRET, who.email);
    key = accountThrottleKey(account);
  } else {
    key = addressThrottleKey(clientAddressKey(new Headers({ "cf-connecting-ip": who.address })));
  }
  for (let i = 0; i < n; i++) await recordSignInFailure(env.DB, [key], Date.now(), account);
}

describe("progressive delay per account", { timeout: 60_000 }, () => {
  it("doubles the wait after the free failures; even the right password waits", async () => {
    expect([1, FREE, FREE + 1, FREE + 2, FREE + 3, 100].map((n) => delayAfter(n, FREE))).toEqual([
      0,
      0,
      2,
      4,
      8,
      SIGN_IN_THROTTLE_POLICY.maxDelaySeconds,
    ]);
    pauseClock();
    const person = await signUp("Target");
    expect(await failures(person.email, FREE + 1)).toEqual(Array(FREE + 1).fill(401));
    await expectDelayed(await apiTo(LOCAL, "/sign-in/email", { email: person.email, password: PASSWORD }));
    const page = await formTo(LOCAL, "/sign-in", { email: person.email, password: PASSWORD });
    expect(page.status).toBe(429);
    expect(await page.text()).toContain("Too many failed sign-ins.");
  });

  it("delays an unknown address exactly like a known one (no enumeration)", async () => {
    pauseClock();
    const person = await signUp("Known");
    const stranger = uniqueEmail();
    for (const email of [person.email, stranger]) {
      await earlierFailures(FREE - 1, { email });
      expect(await failures(email, 2)).toEqual([401, 401]);
    }
    // Both waits were stored alike, and neither can run out before its check.
    const known = await apiTo(LOCAL, "/sign-in/email", { email: person.email, password: WRONG });
    const unknown = await apiTo(LOCAL, "/sign-in/email", { email: stranger, password: WRONG });
    expect(known.status).toBe(429);
    expect(unknown.status).toBe(429);
    expect(known.headers.get("Retry-After")).toBe(String(delayAfter(FREE + 1, FREE)));
    expect(unknown.headers.get("Retry-After")).toBe(known.headers.get("Retry-After"));
    expect(await known.text()).toBe(await unknown.text());
    // Only a real account gets the unlock mail.
    expect(await mailTo(stranger)).toEqual([]);
  });

  it("cannot lock the owner out: the unlock link mailed when the delay starts lets them in at once", async () => {
    pauseClock();
    const person = await signUp("Owner");
    await earlierFailures(FREE, { email: person.email });
    expect(await failures(person.email, 1)).toEqual([401]);
    await expectDelayed(await apiTo(LOCAL, "/sign-in/email", { email: person.email, password: PASSWORD }));
    const unlockMails = (await mailTo(person.email)).filter((m) => m.kind === "unlock-sign-in");
    expect(unlockMails).toHaveLength(1);
    expect(linksIn(unlockMails[0]!)).toHaveLength(1);

    const token = await tokenFromMail(person.email, "unlock-sign-in");
    // Opening the link changes nothing; its POST does.
    expect((await getFrom(LOCAL, `/unlock-sign-in?token=${encodeURIComponent(token)}`)).status).toBe(200);
    const unlocked = await formTo(LOCAL, "/unlock-sign-in", { token });
    expect(unlocked.status).toBe(200);
    expect(await unlocked.text()).toContain('data-testid="unlocked"');
    expect((await apiTo(LOCAL, "/sign-in/email", { email: person.email, password: PASSWORD })).status).toBe(200);
  });

  it("keeps the owner in even while a guesser holds the account at its delay and its rate limit", async () => {
    // The rate limiter counts in clock-aligned windows: the run is repeated if it straddles two.
    const outcome = await inOneWindow(async () => {
      const person = await signUp("Besieged");
      await earlierFailures(FREE, { email: person.email });
      await failures(person.email, 1);
      const token = await tokenFromMail(person.email, "unlock-sign-in");
      const unlocked = await formTo(LOCAL, "/unlock-sign-in", { token });
      const cookie = cookiesFrom(unlocked);
      // The guesser goes on from many addresses, past the delay and the account's rate limit.
      const guesses = await failures(person.email, ACCOUNT_LIMIT);
      const stranger = await apiTo(LOCAL, "/sign-in/email", { email: person.email, password: PASSWORD });
      // The owner's browser, holding the cookie, is not held by the account's limits.
      const owner = await apiTo(
        LOCAL,
        "/sign-in/email",
        { email: person.email, password: PASSWORD },
        { Cookie: cookie },
      );
      return {
        cookieLine: unlocked.headers.getSetCookie().find((c) => c.startsWith("mono.sign_in_unlock=")),
        cookie,
        guesses,
        stranger: stranger.status,
        owner: owner.status,
      };
    });
    expect(outcome.cookieLine).toMatch(/; HttpOnly; SameSite=Lax$/);
    expect(outcome.guesses).toContain(429);
    expect(outcome.stranger).toBe(429);
    expect(outcome.owner).toBe(200);
  });

  it("lifts nothing for another account: an unlock cookie opens its own account only", async () => {
    const outcome = await inOneWindow(async () => {
      const person = await signUp("Holder");
      await earlierFailures(FREE, { email: person.email });
      await failures(person.email, 1);
      const token = await tokenFromMail(person.email, "unlock-sign-in");
      const cookie = cookiesFrom(await formTo(LOCAL, "/unlock-sign-in", { token }));
      const other = await signUp("Neighbour");
      await earlierFailures(FREE, { email: other.email });
      await failures(other.email, ACCOUNT_LIMIT);
      return (await apiTo(LOCAL, "/sign-in/email", { email: other.email, password: PASSWORD }, { Cookie: cookie }))
        .status;
    });
    expect(outcome).toBe(429);
  });

  it("refuses a forged, altered or expired unlock token with 400", async () => {
    const secret = env.BETTER_AUTH_SECRET;
    const good = await createUnlockToken(secret, "some-account-hash");
    const expired = await createUnlockToken(secret, "some-account-hash", Date.now() - 2 * 60 * 60 * 1000);
    const altered = good.replace("some-account-hash", "another-account");
    for (const token of ["", "x.y.z", altered, expired]) {
      const response = await formTo(LOCAL, "/unlock-sign-in", { token });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("This link is invalid or has expired.");
    }
  });

  it("clears the account's count on a successful sign-in", async () => {
    const person = await signUp("Clean");
    await failures(person.email, FREE - 1);
    expect((await apiTo(LOCAL, "/sign-in/email", { email: person.email, password: PASSWORD })).status).toBe(200);
    // Uncleared, the second of these would be the sixth failure and the third would wait.
    // (Few attempts in all: the per-account rate limit, 10 a minute, also counts them.)
    expect(await failures(person.email, 3)).toEqual([401, 401, 401]);
  });
});

describe("progressive delay per client address", { timeout: 60_000 }, () => {
  it("slows one address guessing across many accounts", async () => {
    pauseClock();
    const address = clientAddress();
    const free = SIGN_IN_THROTTLE_POLICY.freeFailuresPerAddress;
    await earlierFailures(free - 1, { address });
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) {
      const response = await apiTo(
        LOCAL,
        "/sign-in/email",
        { email: uniqueEmail(), password: WRONG },
        { "cf-connecting-ip": address },
      );
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 401]);
    await expectDelayed(
      await apiTo(LOCAL, "/sign-in/email", { email: uniqueEmail(), password: WRONG }, { "cf-connecting-ip": address }),
      delayAfter(free + 1, free),
    );
    // Another address is not slowed.
    expect((await apiTo(LOCAL, "/sign-in/email", { email: uniqueEmail(), password: WRONG })).status).toBe(401);
  });
});

describe("the failure count's one-batch upsert", () => {
  it("counts each key, doubles its wait past the free failures, never shortens a wait, and starts a stale run over", async () => {
    const account = accountThrottleKey(`test-${crypto.randomUUID()}`);
    const address = addressThrottleKey(`test-${crypto.randomUUID()}`);
    const row = async (key: string) =>
      drizzle(env.DB).select().from(signInThrottle).where(eq(signInThrottle.key, key)).get();
    const start = Date.UTC(2026, 0, 1);
    for (let n = 1; n <= FREE + 3; n++) {
      const now = start + n * 1000;
      const counts = await recordSignInFailure(env.DB, [address, account], now);
      expect([counts.get("account"), counts.get("address")]).toEqual([n, n]);
      expect((await row(account.key))?.blockedUntil.getTime()).toBe(
        n <= FREE ? start + 1000 : now + delayAfter(n, FREE) * 1000,
      );
      // The address has more free failures: not slowed yet, its first instant kept.
      expect((await row(address.key))?.blockedUntil.getTime()).toBe(start + 1000);
    }
    // A later failure whose wait ends sooner keeps the longer one (MAX).
    const longWait = (await row(account.key))?.blockedUntil.getTime() ?? 0;
    await drizzle(env.DB)
      .update(signInThrottle)
      .set({ blockedUntil: new Date(longWait + 3_600_000) })
      .where(eq(signInThrottle.key, account.key));
    await recordSignInFailure(env.DB, [account], start + 20_000);
    expect((await row(account.key))?.blockedUntil.getTime()).toBe(longWait + 3_600_000);
    // A run older than the window starts over at 1, with its first failure now and no new wait.
    const later = start + 20_000 + SIGN_IN_THROTTLE_POLICY.windowSeconds * 1000 + 1;
    const counts = await recordSignInFailure(env.DB, [account], later);
    expect(counts.get("account")).toBe(1);
    expect((await row(account.key))?.firstFailureAt.getTime()).toBe(later);
    expect((await row(account.key))?.blockedUntil.getTime()).toBe(longWait + 3_600_000);
  });
});
