// Password attempts over HTTP against the whole system (gateway → authn):
// the per-address and per-account limits hold across requests, for the
// pages and Better Auth's API under one budget.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCOUNT_LIMIT,
  ADDRESS_LIMIT,
  clientAddress,
  inOneWindow,
  PERIOD_SECONDS,
  RATE_LIMITED_BODY,
} from "../support/credential-limits.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;

beforeAll(async () => {
  system = await startSystem();
});
afterAll(() => system?.close());

function email(): string {
  return `limit-${crypto.randomUUID()}@example.com`;
}

/** A sign-in form post refused before any password check, but counted. */
async function pageAttempt(account: string, from: string): Promise<Response> {
  return system.fetch("/sign-in", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: system.origin, "cf-connecting-ip": from },
    body: new URLSearchParams({ email: account, password: "" }),
  });
}

async function apiAttempt(account: string, from: string): Promise<Response> {
  return system.fetch("/api/auth/sign-in/email", {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: system.origin, "cf-connecting-ip": from },
    body: JSON.stringify({ email: account, password: "not the password" }),
  });
}

async function statusOf(response: Promise<Response>): Promise<number> {
  const r = await response;
  await r.arrayBuffer();
  return r.status;
}

async function refusal(response: Response) {
  return {
    status: response.status,
    retryAfter: response.headers.get("Retry-After"),
    body: response.headers.get("Content-Type")?.startsWith("application/json") ? await response.json() : undefined,
  };
}

const RATE_LIMITED = {
  status: 429,
  retryAfter: String(PERIOD_SECONDS),
  body: RATE_LIMITED_BODY,
};

describe("credential limits through the gateway", () => {
  it("per address: the attempt past the limit is refused with 429 and Retry-After", async () => {
    const outcome = await inOneWindow(async () => {
      const from = clientAddress();
      const within: number[] = [];
      for (let i = 0; i < ADDRESS_LIMIT; i++) within.push(await statusOf(pageAttempt(email(), from)));
      const page = await pageAttempt(email(), from);
      return {
        within,
        page: { status: page.status, retryAfter: page.headers.get("Retry-After"), html: await page.text() },
        api: await refusal(await apiAttempt(email(), from)),
      };
    });
    expect(outcome.within).toEqual(Array(ADDRESS_LIMIT).fill(400));
    expect(outcome.page.status).toBe(429);
    expect(outcome.page.retryAfter).toBe(String(PERIOD_SECONDS));
    expect(outcome.page.html).toContain("Too many attempts. Wait a minute, then try again.");
    expect(outcome.api).toEqual(RATE_LIMITED);
  });

  it("per account: attempts from many addresses share one budget across pages and API", async () => {
    const outcome = await inOneWindow(async () => {
      const account = email();
      const within: number[] = [];
      for (let i = 0; i < ACCOUNT_LIMIT; i++) {
        within.push(
          await statusOf(i % 2 === 0 ? pageAttempt(account, clientAddress()) : apiAttempt(account, clientAddress())),
        );
      }
      return { within, api: await refusal(await apiAttempt(account, clientAddress())) };
    });
    expect(outcome.within).toEqual(Array.from({ length: ACCOUNT_LIMIT }, (_, i) => (i % 2 === 0 ? 400 : 401)));
    expect(outcome.api).toEqual(RATE_LIMITED);
  });
});
