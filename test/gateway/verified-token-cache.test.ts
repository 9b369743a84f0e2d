import { env } from "cloudflare:workers";
import { generateKeyPair } from "jose";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { type AccessTokenClaims, CLOCK_TOLERANCE_SECONDS } from "../../shared/contracts/tokens.ts";
import { VerifiedTokenCache } from "../../workers/gateway/src/trust/verified-token-cache.ts";
import { gatewayFetch, memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

let key: CryptoKey;
let otherKey: CryptoKey;
let signer: TestSigner;

beforeAll(async () => {
  key = (await generateKeyPair("ES256")).publicKey;
  otherKey = (await generateKeyPair("ES256")).publicKey;
  signer = await testSigner();
});

beforeEach(() => signer.publish());

const NOW = 1_800_000_000;
const claims = (overrides: Partial<AccessTokenClaims> = {}) =>
  ({ ...memberClaims(), iat: NOW, exp: NOW + 300, ...overrides }) as AccessTokenClaims;

describe("verified-token cache", () => {
  it("answers a token verified before, for the same audience, while its key is the current one", async () => {
    const cache = new VerifiedTokenCache(10);
    cache.remember("t1", "aud-a", claims(), "kid-1", key);
    await expect(cache.get("t1", "aud-a", async () => key, NOW + 10)).resolves.toMatchObject({ sub: "user-1" });
    // Another audience, another kid's key, or an unknown kid: verify again.
    await expect(cache.get("t1", "aud-b", async () => key, NOW + 10)).resolves.toBeUndefined();
    await expect(cache.get("t1", "aud-a", async () => otherKey, NOW + 10)).resolves.toBeUndefined();
    cache.remember("t1", "aud-a", claims(), "kid-1", key);
    await expect(cache.get("t1", "aud-a", async () => undefined, NOW + 10)).resolves.toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("rechecks exp, nbf and iat against now with the one tolerance", async () => {
    const cache = new VerifiedTokenCache(10);
    const current = async () => key;
    cache.remember("t", "a", claims(), "k", key);
    await expect(cache.get("t", "a", current, NOW + 300 + CLOCK_TOLERANCE_SECONDS - 1)).resolves.toBeDefined();
    await expect(cache.get("t", "a", current, NOW + 300 + CLOCK_TOLERANCE_SECONDS)).resolves.toBeUndefined();
    cache.remember("t", "a", claims({ nbf: NOW + 60 } as Partial<AccessTokenClaims>), "k", key);
    await expect(cache.get("t", "a", current, NOW)).resolves.toBeUndefined();
    cache.remember("t", "a", claims({ iat: NOW + 60 }), "k", key);
    await expect(cache.get("t", "a", current, NOW)).resolves.toBeUndefined();
  });

  it("holds at most maxEntries, least recently used out first", async () => {
    const cache = new VerifiedTokenCache(2);
    const current = async () => key;
    cache.remember("t1", "a", claims(), "k", key);
    cache.remember("t2", "a", claims(), "k", key);
    await cache.get("t1", "a", current, NOW);
    cache.remember("t3", "a", claims(), "k", key);
    expect(cache.size).toBe(2);
    await expect(cache.get("t2", "a", current, NOW)).resolves.toBeUndefined();
    await expect(cache.get("t1", "a", current, NOW)).resolves.toBeDefined();
  });

  it("a token served from the cache is still refused once revoked", async () => {
    // This test's own org: the project's files share one runtime and its orgs' objects (vitest.config.ts).
    const orgId = `org-${crypto.randomUUID()}`;
    const revocable = memberClaims({ org_id: orgId });
    const token = await signer.sign(revocable);
    const get = () =>
      gatewayFetch(`http://localhost:8787${ENDPOINT.documents}`, { headers: { Authorization: `Bearer ${token}` } });
    expect((await get()).status).toBe(200);
    expect((await get()).status).toBe(200);
    await env.ORG_STATE.getByName(orgStateName(orgId)).revoke(
      { orgId, kind: "jti", value: revocable.jti, reason: "test" },
      revocable.exp,
    );
    const refused = await get();
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error_description: string }).error_description).toMatch(/^ERR_TOKEN_REVOKED:/);
  });
});
