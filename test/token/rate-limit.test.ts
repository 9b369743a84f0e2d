import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { TOKEN_ENDPOINT_LIMIT } from "../../workers/token/src/http/rate-limit.ts";
import { freshPrefix64, tokenRequest } from "./fixtures.ts";

const { limit, periodSeconds } = TOKEN_ENDPOINT_LIMIT;

/** A token request refused for its own reasons (no grant_type): cheap, and never a 429 by itself. */
function request(clientAddress: string) {
  return tokenRequest({ audience: "x" }, { clientAddress });
}

/** Sends `count` requests, spread over the given addresses in turn, a few at a time. */
async function send(addresses: readonly string[], count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let start = 0; start < count; start += 50) {
    const batch = Array.from({ length: Math.min(50, count - start) }, (_, i) =>
      request(addresses[(start + i) % addresses.length] as string),
    );
    statuses.push(...(await Promise.all(batch)).map((r) => r.status));
  }
  return statuses;
}

/**
 * The binding's windows are aligned to the clock. A scenario whose requests
 * straddled a window boundary proves nothing (its count restarted), so it is
 * run again, on fresh addresses.
 */
async function inOneWindow(scenario: () => Promise<void>): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const window = Math.floor(Date.now() / (periodSeconds * 1000));
    try {
      await scenario();
      return;
    } catch (error) {
      if (Math.floor(Date.now() / (periodSeconds * 1000)) === window) throw error;
    }
  }
  throw new Error("three scenarios in a row straddled a rate-limit window");
}

async function expectRateLimited(response: Response) {
  expect(response.status).toBe(429);
  expect(response.headers.get("Retry-After")).toBe(String(periodSeconds));
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body.error).toBe("rate_limited");
  expect(typeof body.error_description).toBe("string");
}

describe(`POST ${ENDPOINT.token}: rate limit per client address`, () => {
  it("lets exactly the limit through (TOKEN_ENDPOINT_LIMIT agrees with the binding in wrangler.toml)", async () => {
    await inOneWindow(async () => {
      const address = `${freshPrefix64()}::1`;
      const statuses = await send([address], limit);
      expect(statuses.filter((s) => s === 429)).toEqual([]);
      await expectRateLimited(await request(address));
    });
  });

  it("429 rate_limited with Retry-After once an address is over the limit, before the body is read", async () => {
    await inOneWindow(async () => {
      const address = `${freshPrefix64()}::1`;
      await send([address], limit);
      const over = await tokenRequest("x".repeat(64 * 1024), { clientAddress: address });
      await expectRateLimited(over);
    });
  });

  it("counts every address of one IPv6 /64 in one bucket", async () => {
    await inOneWindow(async () => {
      const prefix = freshPrefix64();
      const [a, b, c] = [`${prefix}::1`, `${prefix}:ffff:1:2:3`, `${prefix}:0:0:0:9`];
      const statuses = await send([a, b], limit);
      expect(statuses.filter((s) => s === 429)).toEqual([]);
      await expectRateLimited(await request(c));
      await expectRateLimited(await request(a.toUpperCase()));
    });
  });

  it("keeps other /64s and other IPv4 addresses out of that bucket", async () => {
    await inOneWindow(async () => {
      const prefix = freshPrefix64();
      await send([`${prefix}::1`], limit + 1);
      // The neighbouring /64 (last hextet of the prefix + 1) is another subscriber.
      const parts = prefix.split(":");
      const next = (Number.parseInt(parts[3] as string, 16) + 1) % 0x10000;
      const neighbour = `${parts.slice(0, 3).join(":")}:${next.toString(16)}::1`;
      expect((await request(neighbour)).status).toBe(400);
      const ipv4 = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
      expect((await request(ipv4)).status).toBe(400);
    });
  });
});
