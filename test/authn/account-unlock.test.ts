import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createAccountUnlockToken } from "../../workers/authn/src/limits/account-unlock.ts";
import {
  ACCOUNT_LIMIT,
  ADDRESS_LIMIT,
  inOneWindow,
  PERIOD_SECONDS,
  RATE_LIMITED_BODY,
} from "../support/credential-limits.ts";
import {
  CAP,
  expectUnlockAudited,
  expectUnlockedOnly,
  errorCode,
  LOCAL,
  linkFor,
  lock,
  lockedWithLink,
  lockState,
  redeem,
  requestLink,
  SECRET,
  sessionsOf,
  signIn,
  unlockMails,
} from "./account-unlock-helpers.ts";
import { formTo, getFrom, linksIn } from "./email-helpers.ts";
import { clientAddress, ORIGIN, signUp, uniqueEmail } from "./helpers.ts";

/**
 * Self-service unlock of the consecutive-failure lock
 * (workers/authn/src/limits/account-unlock.ts): a request answered alike for
 * every address, a mailed link that works once, clears that account's lock
 * and delay only, is audited, and signs nobody in. The JSON redemption for
 * API-only clients: account-unlock-api.test.ts.
 */
const REQUESTED = {
  status: true,
  message:
    "If an account uses that address and failed sign-ins locked or slowed it, we have emailed it a link to unlock it. The link works once, for 15 minutes.",
};
const strip = (html: string) => html.replace(/nonce="[^"]+"/g, "");

describe("a locked-out owner unlocks by mail, without a password reset", { timeout: 120_000 }, () => {
  it("asks, gets one link, and the link clears the lock and the delay; nobody is signed in; audited", async () => {
    const person = await signUp("Locked Owner");
    await lock(person.email);
    expect((await signIn(person.email)).status).toBe(403);

    const asked = await requestLink(person.email);
    expect(asked.status).toBe(200);
    expect(await asked.json()).toEqual(REQUESTED);
    const token = await linkFor(person.email);
    const [mail] = await unlockMails(person.email);
    expect(mail?.subject).toBe("Unlock sign-in to your account");
    expect(linksIn(mail!)).toHaveLength(1);
    expect(linksIn(mail!)[0]).toMatch(new RegExp(`^${ORIGIN}/unlock-sign-in\\?token=`));

    // A GET (a mail scanner) changes nothing.
    const page = await getFrom(LOCAL, `/unlock-sign-in?token=${encodeURIComponent(token)}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Unlock my account");
    expect((await lockState(person.email)).failures).toBe(CAP);

    const sessionsBefore = await sessionsOf(person.userId);
    const unlocked = await redeem(token);
    expect(unlocked.status).toBe(200);
    expect(await unlocked.text()).toContain('data-testid="account-unlocked"');
    await expectUnlockedOnly(unlocked, person, sessionsBefore);

    await expectUnlockAudited(person, token, "/unlock-sign-in");
  });

  it("answers every address alike, API and page; only a real account with failures is mailed", async () => {
    const locked = await signUp("Locked");
    await lock(locked.email);
    const calm = await signUp("Never Failed");
    const stranger = uniqueEmail();
    const lockedStranger = uniqueEmail();
    await lock(lockedStranger);
    const addresses = [locked.email, calm.email, stranger, lockedStranger];

    const answers = await Promise.all(addresses.map((email) => requestLink(email)));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    const bodies = await Promise.all(answers.map((answer) => answer.text()));
    expect(new Set(bodies).size).toBe(1);

    const pages = await Promise.all(addresses.map((email) => formTo(LOCAL, "/unlock-sign-in", { email })));
    expect(pages.map((page) => page.status)).toEqual([200, 200, 200, 200]);
    const texts = await Promise.all(pages.map(async (page) => strip(await page.text())));
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]).toContain(REQUESTED.message);

    // One mail a minute to the locked owner (the page's request came within it); nothing to anyone else.
    await linkFor(locked.email);
    for (const email of [calm.email, stranger, lockedStranger]) expect(await unlockMails(email)).toHaveLength(0);
  });

  it("unlocks its own account only", async () => {
    const owner = await signUp("Owner");
    const other = await signUp("Other");
    await lock(owner.email);
    await lock(other.email);
    await requestLink(owner.email);
    const unlocked = await redeem(await linkFor(owner.email));
    expect(unlocked.status).toBe(200);
    expect((await signIn(owner.email)).status).toBe(200);
    expect(await lockState(other.email)).toEqual({ failures: CAP, delayed: true });
    const still = await signIn(other.email);
    expect(still.status).toBe(403);
    expect(((await still.json()) as { error: string }).error).toBe("account_locked");
  });

  it("works once: of concurrent redemptions exactly one unlocks, a replay after a new lock unlocks nothing", async () => {
    const { person, token } = await lockedWithLink("Raced");

    const answers = await Promise.all(Array.from({ length: 8 }, () => redeem(token)));
    const outcomes = await Promise.all(
      answers.map(async (answer) => {
        const html = await answer.text();
        return html.includes('data-testid="account-unlocked"') ? 200 : `${answer.status} ${errorCode(html)}`;
      }),
    );
    expect(outcomes.filter((outcome) => outcome === 200)).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome !== 200)).toEqual(Array(7).fill("400 link_used"));
    expect(answers.filter((answer) => answer.headers.getSetCookie().length > 0)).toHaveLength(1);

    await lock(person.email);
    const replay = await redeem(token);
    expect(replay.status).toBe(400);
    const html = await replay.text();
    expect(errorCode(html)).toBe("link_used");
    expect(html).toContain("This link has already been used.");
    expect(replay.headers.getSetCookie()).toEqual([]);
    expect((await lockState(person.email)).failures).toBe(CAP);
  });

  it("refuses a forged, altered, expired or readdressed link with 400 invalid_link, unlocking nothing", async () => {
    const person = await signUp("Forged For");
    const other = await signUp("Someone Else");
    await lock(person.email);
    const good = await createAccountUnlockToken(SECRET, person.userId, person.email);
    const [exp, userId, account, jti, mac] = good.split(".") as [string, string, string, string, string];
    const expired = await createAccountUnlockToken(SECRET, person.userId, person.email, Date.now() - 60 * 60_000);
    const otherSecret = await createAccountUnlockToken(`${SECRET}-not-ours`, person.userId, person.email);
    const cases = [
      "",
      "a.b.c.d.e",
      [exp, other.userId, account, jti, mac].join("."),
      [String(Number(exp) + 3600), userId, account, jti, mac].join("."),
      [exp, userId, account, jti, `${mac.slice(0, -2)}AA`].join("."),
      expired,
      otherSecret,
    ];
    for (const token of cases) {
      const response = await redeem(token);
      expect(response.status, token).toBe(400);
      const html = await response.text();
      // The empty and 3-part-looking tokens are the delay's link: its own message, no code.
      if (token.split(".").length === 5) expect(errorCode(html), token).toBe("invalid_link");
      expect(html).toContain("This link is invalid or has expired.");
      expect(response.headers.getSetCookie()).toEqual([]);
    }
    // A link mailed to the account's old address unlocks nothing once the address changed.
    const moved = `moved-${person.email}`;
    await env.DB.prepare("UPDATE user SET email = ? WHERE id = ?").bind(moved, person.userId).run();
    const readdressed = await redeem(good);
    expect(readdressed.status).toBe(400);
    expect(errorCode(await readdressed.text())).toBe("invalid_link");
    expect((await lockState(person.email)).failures).toBe(CAP);
  });

  it("limits requests per address (its own budget, not sign-in's) and per client address: 429 rate_limited", async () => {
    // A fresh account per attempt: a run that crossed a window spent part of the next one's budget.
    const outcome = await inOneWindow(async () => {
      const person = await signUp("Hammered");
      await lock(person.email);
      // A guesser spends the account's sign-in budget…
      const signIns: number[] = [];
      for (let i = 0; i <= ACCOUNT_LIMIT; i++) signIns.push((await signIn(person.email)).status);
      // …and the owner can still ask, until the request's own per-account budget is spent.
      const requests: number[] = [];
      for (let i = 0; i < ACCOUNT_LIMIT; i++) requests.push((await requestLink(person.email)).status);
      const refused = await requestLink(person.email);
      const page = await formTo(LOCAL, "/unlock-sign-in", { email: person.email });
      return {
        person,
        signIns,
        requests,
        refused: { status: refused.status, retry: refused.headers.get("Retry-After"), body: await refused.json() },
        page: { status: page.status, retry: page.headers.get("Retry-After"), code: errorCode(await page.text()) },
      };
    });
    expect(outcome.signIns.at(-1)).toBe(429);
    expect(outcome.requests).toEqual(Array(ACCOUNT_LIMIT).fill(200));
    expect(outcome.refused).toEqual({ status: 429, retry: String(PERIOD_SECONDS), body: RATE_LIMITED_BODY });
    expect(outcome.page).toEqual({ status: 429, retry: String(PERIOD_SECONDS), code: "rate_limited" });
    // However often it was asked: one mail.
    await linkFor(outcome.person.email);

    const byAddress = await inOneWindow(async () => {
      const address = clientAddress();
      const within: number[] = [];
      for (let i = 0; i < ADDRESS_LIMIT; i++) {
        within.push((await requestLink(uniqueEmail(), { "cf-connecting-ip": address })).status);
      }
      const refused = await requestLink(uniqueEmail(), { "cf-connecting-ip": address });
      return { within, status: refused.status, body: await refused.json() };
    });
    expect(byAddress.within).toEqual(Array(ADDRESS_LIMIT).fill(200));
    expect(byAddress).toMatchObject({ status: 429, body: RATE_LIMITED_BODY });
  });

  it("refuses a malformed address (400), a foreign origin (403 INVALID_ORIGIN) and a cross-origin page post", async () => {
    const malformed = await requestLink("not-an-address");
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { code: string }).code).toBe("VALIDATION_ERROR");
    const page = await formTo(LOCAL, "/unlock-sign-in", { email: "not-an-address" });
    expect(page.status).toBe(400);
    expect(await page.text()).toContain("Enter a valid email address.");

    const foreign = await requestLink(uniqueEmail(), { Origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { code: string }).code).toBe("INVALID_ORIGIN");
    const crossPage = await formTo(
      LOCAL,
      "/unlock-sign-in",
      { email: uniqueEmail() },
      { Origin: "https://evil.example" },
    );
    expect(crossPage.status).toBe(403);
    expect(((await crossPage.json()) as { error: string }).error).toBe("cross_origin_post");
  });

  it("the page without a link is the request form, and the sign-in page links to it", async () => {
    const page = await getFrom(LOCAL, "/unlock-sign-in");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Locked out?");
    expect(html).toContain('name="email"');
    expect(await (await getFrom(LOCAL, "/sign-in")).text()).toContain('href="/unlock-sign-in"');
  });
});
