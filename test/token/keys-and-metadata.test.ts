import { env, exports } from "cloudflare:workers";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { KV_KEY } from "../../shared/contracts/storage-keys.ts";
import { GRANT_TYPE, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { seedSession } from "./fixtures.ts";

describe("signing keys", () => {
  it("creates exactly one current key when many requests race for the first one", async () => {
    await env.DB.prepare("DELETE FROM signing_key").run();
    await env.KV.delete(KV_KEY.jwks);
    const sessions = await Promise.all(Array.from({ length: 12 }, () => seedSession()));
    const responses = await Promise.all(
      sessions.map((s) =>
        exports.default.fetch(
          new Request("http://localhost/oauth2/token", {
            method: "POST",
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({
              grant_type: GRANT_TYPE.tokenExchange,
              subject_token: s.token,
              subject_token_type: TOKEN_TYPE.session,
              audience: env.ALLOWED_AUDIENCES.split(" ")[0] as string,
            }),
          }),
        ),
      ),
    );
    const tokens = await Promise.all(
      responses.map(async (r) => ((await r.json()) as { access_token: string }).access_token),
    );
    const { results } = await env.DB.prepare("SELECT kid FROM signing_key WHERE status = 'current'").all<{
      kid: string;
    }>();
    expect(results).toHaveLength(1);
    const jwks = (await (await exports.default.fetch("http://localhost/.well-known/jwks.json")).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys.map((k) => k.kid)).toEqual([results[0]?.kid]);
    const keySet = createLocalJWKSet(jwks as JSONWebKeySet);
    for (const token of tokens) await expect(jwtVerify(token, keySet)).resolves.toBeDefined();
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

describe("JWKS and metadata", () => {
  it("serves only public members, and keeps the KV copy the gateway reads", async () => {
    const jwks = (await (await exports.default.fetch("http://localhost/.well-known/jwks.json")).json()) as {
      keys: Record<string, unknown>[];
    };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
      expect(key).not.toHaveProperty("d");
    }
    expect(await env.KV.get(KV_KEY.jwks, "json")).toEqual(jwks);
  });

  it("rebuilds the JWKS from D1 when asked for a fresh copy", async () => {
    await env.KV.put(KV_KEY.jwks, JSON.stringify({ keys: [{ kid: "stale" }] }));
    const fresh = (await (
      await exports.default.fetch("http://localhost/.well-known/jwks.json", {
        headers: { "Cache-Control": "no-cache" },
      })
    ).json()) as { keys: { kid: string }[] };
    expect(fresh.keys.map((k) => k.kid)).not.toContain("stale");
    expect(((await env.KV.get(KV_KEY.jwks, "json")) as { keys: { kid: string }[] }).keys).toEqual(fresh.keys);
  });

  it("serves RFC 8414 metadata and OpenID discovery for the one issuer", async () => {
    const as = (await (
      await exports.default.fetch("http://localhost/.well-known/oauth-authorization-server")
    ).json()) as Record<string, unknown>;
    expect(as).toMatchObject({
      issuer: env.ISSUER,
      jwks_uri: `${env.ISSUER}/.well-known/jwks.json`,
      token_endpoint: `${env.ISSUER}/oauth2/token`,
      grant_types_supported: [GRANT_TYPE.tokenExchange],
    });
    const oidc = (await (
      await exports.default.fetch("http://localhost/.well-known/openid-configuration")
    ).json()) as Record<string, unknown>;
    expect(oidc).toMatchObject({
      issuer: env.ISSUER,
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["ES256"],
    });
  });

  it("answers unknown paths with a JSON 404", async () => {
    const response = await exports.default.fetch("http://localhost/nope");
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toBe("not_found");
  });
});
