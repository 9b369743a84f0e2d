import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { KV_KEY } from "../../shared/contracts/storage-keys.ts";
import { JwksCache } from "../../workers/gateway/src/trust/jwks-cache.ts";

/** The real token Worker, with a count of how often the cache goes to it. */
function countingSources() {
  const calls = { token: 0 };
  const TOKEN = {
    fetch: (input: RequestInfo | URL, init?: RequestInit) => {
      calls.token += 1;
      return env.TOKEN.fetch(input, init);
    },
  } as Fetcher;
  return { sources: { KV: env.KV, TOKEN }, calls };
}

async function publicJwk(kid: string) {
  const { publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
}

describe("JwksCache", () => {
  it("serves known kids from memory and refetches unknown ones at most once per cooldown", async () => {
    await env.KV.put(KV_KEY.jwks, JSON.stringify({ keys: [await publicJwk("kid-a")] }));
    const { sources, calls } = countingSources();
    const cache = new JwksCache(sources, 60_000);

    expect(await cache.resolve("kid-a")).toBeDefined();
    expect(await cache.resolve("kid-a")).toBeDefined();
    expect(calls.token).toBe(0);

    // A flood of made-up kids costs one trip to the token Worker, not one each.
    for (let i = 0; i < 20; i++) expect(await cache.resolve(`made-up-${i}`)).toBeUndefined();
    expect(calls.token).toBe(1);
  });

  it("ignores keys it must not use: private members, other curves or algorithms", async () => {
    const good = await publicJwk("good");
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const withPrivate = { ...(await exportJWK(privateKey)), kid: "has-d" };
    await env.KV.put(
      KV_KEY.jwks,
      JSON.stringify({
        keys: [good, withPrivate, { ...good, kid: "rs", alg: "RS256" }, { ...good, kid: "enc", use: "enc" }],
      }),
    );
    const cache = new JwksCache(countingSources().sources, 60_000);
    expect(await cache.resolve("good")).toBeDefined();
    for (const kid of ["has-d", "rs", "enc"]) expect(await cache.resolve(kid)).toBeUndefined();
  });
});
