import { env, exports } from "cloudflare:workers";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { ALL_SCOPES } from "../../shared/contracts/scopes.ts";
import { KV_KEY } from "../../shared/contracts/storage-keys.ts";
import { GRANT_TYPE, SIGNING_ALG } from "../../shared/contracts/tokens.ts";
import { AUDIENCE, seedSession } from "./fixtures.ts";
import { OIDC_SCOPE } from "../../shared/contracts/oidc.ts";

interface Jwks {
  keys: Record<string, unknown>[];
}

async function servedJwks(headers: HeadersInit = {}): Promise<Jwks> {
  const response = await exports.default.fetch(`http://localhost${ENDPOINT.jwks}`, { headers });
  expect(response.status).toBe(200);
  return (await response.json()) as Jwks;
}

async function currentKids(): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT kid FROM signing_key WHERE status IN ('current', 'previous') ORDER BY kid",
  ).all<{ kid: string }>();
  return results.map((r) => r.kid);
}

const kids = (jwks: Jwks) => jwks.keys.map((k) => k.kid as string).sort();

// The first test starts from no key at all; the rest of the file runs on the key it creates.
describe("signing keys", () => {
  it("creates exactly one current key when many exchanges race for the first one", async () => {
    await env.DB.prepare("DELETE FROM signing_key").run();
    await env.KV.delete(KV_KEY.jwks);
    const sessions = await Promise.all(Array.from({ length: 12 }, () => seedSession()));
    const results = await Promise.all(
      sessions.map((s) => exports.TokenService.exchangeSession({ sessionToken: s.token, audience: AUDIENCE })),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    const current = await env.DB.prepare("SELECT kid FROM signing_key WHERE status = 'current'").all<{
      kid: string;
    }>();
    expect(current.results).toHaveLength(1);
    const jwks = await servedJwks();
    expect(kids(jwks)).toEqual([current.results[0]?.kid]);
    const keySet = createLocalJWKSet(jwks as JSONWebKeySet);
    for (const r of results) await expect(jwtVerify(String(r.body.access_token), keySet)).resolves.toBeDefined();
  });

  it("stores the private key sealed, never in clear", async () => {
    const row = await env.DB.prepare(
      "SELECT public_jwk, private_jwk_sealed FROM signing_key WHERE status = 'current'",
    ).first<{
      public_jwk: string;
      private_jwk_sealed: string;
    }>();
    expect(row).not.toBeNull();
    expect(JSON.parse(row!.public_jwk)).not.toHaveProperty("d");
    expect(row!.private_jwk_sealed).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(row!.private_jwk_sealed).not.toContain('"d"');
    expect(atob(row!.private_jwk_sealed.replaceAll("-", "+").replaceAll("_", "/"))).not.toContain('"d"');
  });
});

describe(`GET ${ENDPOINT.jwks}`, () => {
  it("serves only public members, and the KV copy the gateway reads, written without an expiration", async () => {
    const jwks = await servedJwks();
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: SIGNING_ALG, use: "sig" });
      expect(key).not.toHaveProperty("d");
    }
    expect(await env.KV.get(KV_KEY.jwks, "json")).toEqual(jwks);
    const listed = await env.KV.list({ prefix: KV_KEY.jwks });
    expect(listed.keys).toHaveLength(1);
    expect(listed.keys[0]?.expiration).toBeUndefined();
  });

  it("serves the KV copy whatever the request says: no-cache never reaches D1", async () => {
    const published = await env.KV.get(KV_KEY.jwks);
    const sentinel = { keys: [{ kty: "EC", crv: "P-256", kid: `sentinel-${crypto.randomUUID()}`, x: "x", y: "y" }] };
    await env.KV.put(KV_KEY.jwks, JSON.stringify(sentinel));
    // A key only D1 knows: a response that holds it was built from D1.
    const d1Only = `d1-only-${crypto.randomUUID()}`;
    await env.DB.prepare(
      "INSERT INTO signing_key (kid, alg, status, public_jwk, private_jwk_sealed, created_at) VALUES (?, ?, 'previous', ?, 'x', ?)",
    )
      .bind(d1Only, SIGNING_ALG, JSON.stringify({ kty: "EC", kid: d1Only }), Date.now())
      .run();
    try {
      const served = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          servedJwks(i % 2 ? { "Cache-Control": "no-cache" } : { "Cache-Control": "no-cache", Pragma: "no-cache" }),
        ),
      );
      for (const jwks of served) expect(jwks).toEqual(sentinel);
      // Nothing was rebuilt and written back either.
      expect(await env.KV.get(KV_KEY.jwks, "json")).toEqual(sentinel);
    } finally {
      await env.DB.prepare("DELETE FROM signing_key WHERE kid = ?").bind(d1Only).run();
      if (published) await env.KV.put(KV_KEY.jwks, published);
    }
  });

  it("rebuilds from D1 and writes KV back when KV has no JWKS; concurrent requests all get it", async () => {
    await env.KV.delete(KV_KEY.jwks);
    const served = await Promise.all(Array.from({ length: 10 }, () => servedJwks()));
    const expected = await currentKids();
    for (const jwks of served) expect(kids(jwks)).toEqual(expected);
    expect(kids((await env.KV.get(KV_KEY.jwks, "json")) as Jwks)).toEqual(expected);
    expect((await env.KV.list({ prefix: KV_KEY.jwks })).keys[0]?.expiration).toBeUndefined();
  });

  it("creates the first key when D1 has none, so a verifier never sees an empty set", async () => {
    const saved = await env.DB.prepare("SELECT * FROM signing_key").all<Record<string, unknown>>();
    await env.DB.prepare("DELETE FROM signing_key").run();
    await env.KV.delete(KV_KEY.jwks);
    try {
      const jwks = await servedJwks();
      expect(jwks.keys).toHaveLength(1);
      expect(kids(jwks)).toEqual(await currentKids());
    } finally {
      // Put the file's key back: this isolate keeps signing with it.
      await env.DB.prepare("DELETE FROM signing_key").run();
      for (const row of saved.results) {
        await env.DB.prepare(
          "INSERT INTO signing_key (kid, alg, status, public_jwk, private_jwk_sealed, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
          .bind(row.kid, row.alg, row.status, row.public_jwk, row.private_jwk_sealed, row.created_at)
          .run();
      }
      await env.KV.delete(KV_KEY.jwks);
    }
  });
});

describe("metadata", () => {
  it("serves RFC 8414 metadata derived from the grant and client-authentication registries", async () => {
    const response = await exports.default.fetch(`http://localhost${ENDPOINT.authorizationServerMetadata}`);
    expect(response.status).toBe(200);
    const as = (await response.json()) as Record<string, unknown>;
    expect(as).toMatchObject({
      issuer: env.ISSUER,
      jwks_uri: `${env.ISSUER}${ENDPOINT.jwks}`,
      token_endpoint: `${env.ISSUER}${ENDPOINT.token}`,
      // Sessions are exchanged over the RPC entrypoint only; registered
      // clients use client credentials.
      grant_types_supported: expect.arrayContaining([GRANT_TYPE.clientCredentials]),
      token_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"],
      token_endpoint_auth_signing_alg_values_supported: ["ES256", "RS256", "EdDSA"],
      // The browser OpenID provider's scopes first (test/token/oidc-metadata.test.ts).
      scopes_supported: [...Object.values(OIDC_SCOPE), ...ALL_SCOPES],
      access_token_signing_alg_values_supported: [SIGNING_ALG],
    });
  });

  it("serves OpenID discovery for the same issuer", async () => {
    const oidc = (await (
      await exports.default.fetch(`http://localhost${ENDPOINT.openIdConfiguration}`)
    ).json()) as Record<string, unknown>;
    expect(oidc).toMatchObject({
      issuer: env.ISSUER,
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: [SIGNING_ALG],
    });
  });

  it("answers unknown paths with a JSON 404", async () => {
    const response = await exports.default.fetch("http://localhost/nope");
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toBe("not_found");
  });
});
