import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createAccountUnlockToken } from "../../workers/authn/src/limits/account-unlock.ts";
import { ADDRESS_LIMIT, inOneWindow, PERIOD_SECONDS, RATE_LIMITED_BODY } from "../support/credential-limits.ts";
import {
  CAP,
  expectUnlockAudited,
  expectUnlockedOnly,
  errorCode,
  LOCAL,
  lock,
  lockedWithLink,
  lockState,
  redeem,
  SECRET,
  sessionsOf,
} from "./account-unlock-helpers.ts";
import { call } from "./email-helpers.ts";
import { clientAddress, ORIGIN, signUp } from "./helpers.ts";

/**
 * The account unlock link redeemed as JSON (`POST /api/auth/unlock-account
 * {token}`, workers/authn/src/api/unlock-account.ts) by a client without a
 * browser: the page's redemption (limits/account-unlock-redemption.ts), so
 * the same single use, audit, cookie and codes, as JSON.
 */
/** The JSON redemption as an API-only client sends it: no browser, so no Origin and no cookie. */
const redeemByApi = (body: unknown, headers: Record<string, string> = {}) =>
  call(
    LOCAL,
    new Request(`${ORIGIN}/api/auth/unlock-account`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "cf-connecting-ip": clientAddress(), ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
const LINK_USED = {
  error: "link_used",
  error_description: "the unlock link has already been used; ask for a new one if you are still locked out",
};
const INVALID_LINK = { error: "invalid_link", error_description: "the unlock link is invalid or has expired" };

describe("an API-only client redeems the unlock link as JSON", { timeout: 120_000 }, () => {
  it("POST /api/auth/unlock-account {token}: 200 {status: true}, lock and delay cleared, audited; nobody signed in", async () => {
    const { person, token } = await lockedWithLink("Headless Owner");

    const sessionsBefore = await sessionsOf(person.userId);
    const unlocked = await redeemByApi({ token });
    expect(unlocked.status).toBe(200);
    expect(await unlocked.json()).toEqual({ status: true });
    await expectUnlockedOnly(unlocked, person, sessionsBefore);

    await expectUnlockAudited(person, token, "/api/auth/unlock-account");
  });

  it("works once: of 8 concurrent redemptions exactly one unlocks, the rest 400 link_used; the page then too", async () => {
    const { person, token } = await lockedWithLink("Raced Headless");

    const answers = await Promise.all(Array.from({ length: 8 }, () => redeemByApi({ token })));
    const outcomes = await Promise.all(
      answers.map(async (answer) => ({ status: answer.status, body: await answer.json() })),
    );
    expect(outcomes.filter((outcome) => outcome.status === 200)).toEqual([{ status: 200, body: { status: true } }]);
    expect(outcomes.filter((outcome) => outcome.status !== 200)).toEqual(
      Array(7).fill({ status: 400, body: LINK_USED }),
    );
    expect(answers.filter((answer) => answer.headers.getSetCookie().length > 0)).toHaveLength(1);

    // One link, one spend, whichever way it comes in next.
    await lock(person.email);
    const page = await redeem(token);
    expect(page.status).toBe(400);
    expect(errorCode(await page.text())).toBe("link_used");
    const replay = await redeemByApi({ token });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toEqual(LINK_USED);
    expect(replay.headers.getSetCookie()).toEqual([]);
    expect((await lockState(person.email)).failures).toBe(CAP);
  });

  it("400 invalid_link for a forged, altered, expired or readdressed link; 400 invalid_body; 403 INVALID_ORIGIN", async () => {
    const person = await signUp("Forged Headless");
    const other = await signUp("Someone Else Headless");
    await lock(person.email);
    const good = await createAccountUnlockToken(SECRET, person.userId, person.email);
    const [exp, userId, account, jti, mac] = good.split(".") as [string, string, string, string, string];
    const cases = [
      "",
      "a.b.c.d.e",
      [exp, other.userId, account, jti, mac].join("."),
      [exp, userId, account, jti, `${mac.slice(0, -2)}AA`].join("."),
      await createAccountUnlockToken(SECRET, person.userId, person.email, Date.now() - 60 * 60_000),
      await createAccountUnlockToken(`${SECRET}-not-ours`, person.userId, person.email),
      // The delay's link (three parts) is not an account unlock link.
      "x.y.z",
    ];
    for (const token of cases) {
      const response = await redeemByApi({ token });
      expect(response.status, token).toBe(400);
      expect(await response.json(), token).toEqual(INVALID_LINK);
      expect(response.headers.getSetCookie()).toEqual([]);
    }
    for (const body of ["", "not json", "[]", "{}", JSON.stringify({ token: 5 })]) {
      const response = await redeemByApi(body);
      expect(response.status, body).toBe(400);
      expect(((await response.json()) as { error: string }).error, body).toBe("invalid_body");
    }
    const foreign = await redeemByApi({ token: good }, { Origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { code: string }).code).toBe("INVALID_ORIGIN");

    await env.DB.prepare("UPDATE user SET email = ? WHERE id = ?").bind(`moved-${person.email}`, person.userId).run();
    const readdressed = await redeemByApi({ token: good });
    expect(readdressed.status).toBe(400);
    expect(await readdressed.json()).toEqual(INVALID_LINK);
    expect((await lockState(person.email)).failures).toBe(CAP);
  });

  it("spends the page's per-address budget: 429 rate_limited past it", async () => {
    const outcome = await inOneWindow(async () => {
      const address = clientAddress();
      const within: number[] = [];
      for (let i = 0; i < ADDRESS_LIMIT; i++) {
        within.push((await redeemByApi({ token: "a.b.c.d.e" }, { "cf-connecting-ip": address })).status);
      }
      const refused = await redeemByApi({ token: "a.b.c.d.e" }, { "cf-connecting-ip": address });
      return { within, status: refused.status, retry: refused.headers.get("Retry-After"), body: await refused.json() };
    });
    expect(outcome.within).toEqual(Array(ADDRESS_LIMIT).fill(400));
    expect(outcome).toMatchObject({ status: 429, retry: String(PERIOD_SECONDS), body: RATE_LIMITED_BODY });
  });
});
