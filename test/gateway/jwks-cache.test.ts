import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KV_KEY } from "../../shared/contracts/storage-keys.ts";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { compilePolicy } from "../../shared/policy/compile-policy.ts";
import { DEFAULT_POLICY } from "../../shared/policy/default-policy.ts";
import { AssertionSigner } from "../../workers/gateway/src/assertion/assertion-signer.ts";
import { parseGatewayConfig } from "../../workers/gateway/src/config.ts";
import { protect } from "../../workers/gateway/src/protect.ts";
import { type ProtectedRoute, RouteTable } from "../../workers/gateway/src/routing/match-route.ts";
import { ROUTES } from "../../workers/gateway/src/routing/route-table.ts";
import { DpopReplayCache } from "../../workers/gateway/src/trust/dpop-replay-cache.ts";
import { RevocationView } from "../../workers/gateway/src/trust/revocation-view.ts";
import { VerifiedTokenCache } from "../../workers/gateway/src/trust/verified-token-cache.ts";
import { memberClaims, testSigner } from "./signed-token.ts";
import { tokenService } from "../../workers/gateway/src/config.ts";
import { type JwksSources, JwksCache } from "../../workers/gateway/src/trust/jwks-cache.ts";

/** The real token Worker's RPC entrypoint, with a count of how often the cache goes to it. */
function countingSources(): { sources: JwksSources; calls: { jwks: number } } {
  const calls = { jwks: 0 };
  const real = tokenService(env);
  const counting: JwksSources["tokenService"] = {
    jwks: async () => {
      calls.jwks += 1;
      return await real.jwks();
    },
  };
  return { sources: { KV: env.KV, tokenService: counting }, calls };
}

/** The real KV binding, with a fault we switch on: every read then rejects, as during a KV incident. */
function failingKv() {
  let failing = false;
  const kv = new Proxy(env.KV, {
    get(target, property) {
      if (property === "get" && failing) return () => Promise.reject(new Error("KV unavailable"));
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv, fail: () => (failing = true) };
}

/** A kid the real token Worker lists in its JWKS (it creates its first signing key on first need). */
async function listedKid(): Promise<string> {
  const kid = ((await tokenService(env).jwks()).keys[0] as { kid?: string } | undefined)?.kid;
  expect(kid).toEqual(expect.any(String));
  return kid as string;
}

const MAX_AGE_MS = 50;
const pastMaxAge = () => new Promise((resolve) => setTimeout(resolve, MAX_AGE_MS + 20));

async function publicJwk(kid: string) {
  const { publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
}

// Every test here overwrites (or deletes) the shared KV copy of the JWKS. The
// files of a project share one runtime (isolate: false), so each test puts back
// what it found: later files then see the JWKS they would have seen without it.
let jwksFound: string | null = null;
beforeEach(async () => {
  jwksFound = await env.KV.get(KV_KEY.jwks);
});
afterEach(async () => {
  if (jwksFound === null) await env.KV.delete(KV_KEY.jwks);
  else await env.KV.put(KV_KEY.jwks, jwksFound);
});

describe("JwksCache", () => {
  it("serves known kids from memory and asks the token Worker for unknown ones at most once per cooldown", async () => {
    await env.KV.put(KV_KEY.jwks, JSON.stringify({ keys: [await publicJwk("kid-a")] }));
    const { sources, calls } = countingSources();
    const cache = new JwksCache(sources, 60_000);

    expect(await cache.resolve("kid-a")).toBeDefined();
    expect(await cache.resolve("kid-a")).toBeDefined();
    expect(calls.jwks).toBe(0);

    // A flood of made-up kids costs one call to the token Worker, not one each.
    for (let i = 0; i < 20; i++) expect(await cache.resolve(`made-up-${i}`)).toBeUndefined();
    expect(calls.jwks).toBe(1);
  });

  it("finds a key that D1 has and the KV copy does not yet, through the TokenService RPC", async () => {
    // The token Worker creates its first signing key on first need; its JWKS
    // RPC answers from D1, so the key is there even with KV holding another.
    const fromDatabase = await tokenService(env).jwks();
    const kid = (fromDatabase.keys[0] as { kid?: string } | undefined)?.kid;
    expect(kid).toEqual(expect.any(String));
    await env.KV.put(KV_KEY.jwks, JSON.stringify({ keys: [await publicJwk("kv-only")] }));
    const { sources, calls } = countingSources();
    const cache = new JwksCache(sources, 60_000);
    expect(await cache.resolve(kid as string)).toBeDefined();
    expect(calls.jwks).toBe(1);
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

describe("JwksCache past its max age (README: a retired key drops out within a minute)", () => {
  it("KV failing: a key the token Worker no longer lists stops verifying; one it lists is found through it", async () => {
    const listed = await listedKid();
    // "retired" stands for an emergency-retired key: in the KV copy the isolate loaded, gone from D1.
    await env.KV.put(KV_KEY.jwks, JSON.stringify({ keys: [await publicJwk("retired")] }));
    const { kv, fail } = failingKv();
    const { sources, calls } = countingSources();
    const cache = new JwksCache({ ...sources, KV: kv }, 60_000, MAX_AGE_MS);
    expect(await cache.resolve("retired")).toBeDefined();
    expect(calls.jwks).toBe(0);

    fail();
    await pastMaxAge();
    expect(await cache.resolve("retired")).toBeUndefined();
    expect(await cache.resolve(listed)).toBeDefined();
    // The token Worker was asked despite the unknown-kid cooldown (60 s): the set had expired.
    expect(calls.jwks).toBe(1);
  });

  it("KV's copy gone: the set is refreshed from the token Worker, not kept", async () => {
    const listed = await listedKid();
    await env.KV.put(KV_KEY.jwks, JSON.stringify({ keys: [await publicJwk("retired")] }));
    const { sources, calls } = countingSources();
    const cache = new JwksCache(sources, 60_000, MAX_AGE_MS);
    expect(await cache.resolve("retired")).toBeDefined();

    await env.KV.delete(KV_KEY.jwks);
    await pastMaxAge();
    expect(await cache.resolve("retired")).toBeUndefined();
    expect(await cache.resolve(listed)).toBeDefined();
    expect(calls.jwks).toBe(1);
  });

  it("KV and the token Worker both failing: no key is served (fail closed), and the call does not throw", async () => {
    await env.KV.put(KV_KEY.jwks, JSON.stringify({ keys: [await publicJwk("retired")] }));
    const { kv, fail } = failingKv();
    let originCalls = 0;
    const tokenServiceDown: JwksSources["tokenService"] = {
      jwks: async () => {
        originCalls += 1;
        throw new Error("token Worker unreachable");
      },
    };
    const cache = new JwksCache({ KV: kv, tokenService: tokenServiceDown }, 60_000, MAX_AGE_MS);
    expect(await cache.resolve("retired")).toBeDefined();

    fail();
    await pastMaxAge();
    expect(await cache.resolve("retired")).toBeUndefined();
    expect(await cache.resolve("retired")).toBeUndefined();
    // A failed call holds the token Worker off for the cooldown: an outage costs it one call, not one per request.
    expect(originCalls).toBe(1);
  });
});

describe("a protected route while KV fails and the token Worker no longer lists the key", () => {
  it("refuses the token as under an unknown kid: 401 invalid_token ERR_TOKEN_KID_UNKNOWN, not a 500", async () => {
    // The test signer's key is in the KV copy only: the token Worker does not list it.
    const signer = await testSigner();
    await signer.publish();
    const { kv, fail } = failingKv();
    const config = parseGatewayConfig(env);
    const url = new URL(`${env.ISSUER}${ENDPOINT.demoEcho}`);
    const route = new RouteTable(ROUTES, { issuer: env.ISSUER, apiAudience: env.API_AUDIENCE }).match(
      url.pathname,
    ) as ProtectedRoute;
    const pending: Promise<unknown>[] = [];
    const deps = {
      issuer: config.issuer,
      origin: url.origin,
      jwks: new JwksCache({ KV: kv, tokenService: tokenService(env) }, 60_000, MAX_AGE_MS),
      revocations: new RevocationView({ ORG_STATE: env.ORG_STATE, KV: env.KV }, { maxStalenessMs: 0, maxOrgs: 10 }),
      dpopReplays: new DpopReplayCache(10),
      // The verified-token cache asks the JWKS cache for the key again on every hit.
      verifiedTokens: new VerifiedTokenCache(10),
      policyFor: () => compilePolicy(DEFAULT_POLICY),
      signer: AssertionSigner.create(config.assertionSecret, config.issuer),
      upstream: env.DEMO,
      target: url.href,
      audit: env,
      waitUntil: (promise: Promise<unknown>) => pending.push(promise),
    };
    const token = await signer.sign(memberClaims());
    const call = async () => {
      const response = await protect(
        new Request(url, { headers: { Authorization: `Bearer ${token}` } }),
        url,
        url.pathname,
        route,
        deps,
      );
      await Promise.all(pending);
      return response;
    };

    const served = await call();
    expect(served.status).toBe(200);
    await served.body?.cancel();

    fail();
    await pastMaxAge();
    const refused = await call();
    expect(refused.status).toBe(401);
    expect(refused.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
    expect(await refused.json()).toMatchObject({
      error: "invalid_token",
      error_description: expect.stringMatching(/^ERR_TOKEN_KID_UNKNOWN:/),
    });
  });
});
