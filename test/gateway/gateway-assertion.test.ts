import { env } from "cloudflare:workers";
import { base64url, generateKeyPair, SignJWT } from "jose";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { TRUSTED_HEADER } from "../../shared/contracts/headers.ts";
import { JWT_TYP } from "../../shared/contracts/tokens.ts";
import {
  EMPTY_QUERY_SHA256,
  filterHash,
  type GatewayAssertionClaims,
  querySha256,
} from "../../shared/gateway-assertion/claims.ts";
import { deriveGatewayAssertionKey, type GatewayAssertionKey } from "../../shared/gateway-assertion/signing-key.ts";
import { GatewayAssertionVerifier } from "../../shared/gateway-assertion/verify-gateway-assertion.ts";
import { AssertionSigner } from "../../workers/gateway/src/assertion/assertion-signer.ts";
import { MAX_PATH_LENGTH } from "../../workers/gateway/src/routing/normalise-path.ts";
import { MAX_AUTHORIZATION_HEADER_BYTES } from "../../workers/gateway/src/trust/bearer-token.ts";
import { gatewayFetch, memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// The assertion end to end: the gateway signs one per allowed request, the
// demo service (behind it, pinning the gateway's public keys) refuses any
// request whose assertion is missing, forged, for another service or request,
// or whose trusted headers differ from what was signed.
const ORIGIN = "http://localhost:8787";

let signer: TestSigner;
let gatewayKey: GatewayAssertionKey;

beforeAll(async () => {
  signer = await testSigner();
  gatewayKey = await deriveGatewayAssertionKey(env.GATEWAY_ASSERTION_KEY);
});

beforeEach(() => signer.publish());

interface Echo {
  url: string;
  headers: [string, string][];
}

/** What the demo received behind the gateway for an echo request (`query`: `""` or `?…`); it verified the assertion. */
async function echoedAt(query: string, claims = memberClaims()): Promise<{ url: URL; headers: Headers }> {
  const response = await gatewayFetch(`${ORIGIN}${ENDPOINT.demoEcho}${query}`, {
    headers: { Authorization: `Bearer ${await signer.sign(claims)}` },
  });
  expect(response.status).toBe(200);
  const echo = (await response.json()) as Echo;
  return { url: new URL(echo.url), headers: new Headers(echo.headers) };
}

async function echoed(claims = memberClaims()): Promise<Headers> {
  return (await echoedAt("", claims)).headers;
}

function decodePayload(jwt: string): GatewayAssertionClaims {
  return JSON.parse(new TextDecoder().decode(base64url.decode(jwt.split(".")[1] as string)));
}

describe("the gateway signs an assertion for every request it lets through", () => {
  it("binds subject, org, actor, client, decision, filter hash, method, path and query, for the route's audience, for 60 s", async () => {
    const act = { sub: "agent-7", client_id: "mac_agent-7" };
    const received = await echoed(memberClaims({ act }));
    const assertion = received.get(TRUSTED_HEADER.gatewayAssertion) as string;
    const header = JSON.parse(new TextDecoder().decode(base64url.decode(assertion.split(".")[0] as string)));
    expect(header).toEqual({ alg: "ES256", typ: JWT_TYP.gatewayAssertion, kid: gatewayKey.publicJwk.kid });
    const claims = decodePayload(assertion);
    expect(claims).toMatchObject({
      iss: env.ISSUER,
      aud: env.API_AUDIENCE,
      sub: "user-1",
      org_id: "org-1",
      act,
      client_id: memberClaims().client_id,
      method: "GET",
      path: ENDPOINT.demoEcho,
      // No query: the hash of no bytes, never a missing claim.
      query_sha256: EMPTY_QUERY_SHA256,
      abac_filter_sha256: await filterHash(received.get(TRUSTED_HEADER.abacFilter) as string),
    });
    expect(claims.exp - claims.iat).toBe(60);
    expect(claims.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("binds the raw query the upstream receives: the demo verifies a request with one", async () => {
    // Percent-encoded and repeated names as sent: the hash is of the bytes, not of a parsed form.
    const query = "?id=doc-1&id=doc-2&note=a%20b&empty=";
    const { url, headers } = await echoedAt(query);
    expect(url.search).toBe(query);
    const claims = decodePayload(headers.get(TRUSTED_HEADER.gatewayAssertion) as string);
    expect(claims.path).toBe(ENDPOINT.demoEcho);
    expect(claims.query_sha256).toBe(await filterHash(query.slice(1)));
    expect(claims.query_sha256).toBe(await querySha256(url.search));
    expect(claims.query_sha256).not.toBe(EMPTY_QUERY_SHA256);
  });

  it("an assertion for the longest path and the largest token the gateway accepts still verifies downstream", async () => {
    // The gateway forwards paths up to MAX_PATH_LENGTH and tokens up to MAX_AUTHORIZATION_HEADER_BYTES,
    // and signs the path, the subject and the actor chain: the verifier refused every assertion over
    // 4096 characters as ERR_ASSERTION_MALFORMED, so a genuine request with a path of a few kilobytes
    // (or a long delegation chain) was refused by every downstream behind the gateway.
    const gateway = await AssertionSigner.create(env.GATEWAY_ASSERTION_KEY, env.ISSUER);
    const path = `${ENDPOINT.documents}/${"d".repeat(MAX_PATH_LENGTH - ENDPOINT.documents.length - 1)}`;
    const abacFilter = "{}";
    // Token-derived claims as large as a token that fits the Authorization cap could carry.
    const sub = "s".repeat(MAX_AUTHORIZATION_HEADER_BYTES / 2);
    const act = { sub: "a".repeat(MAX_AUTHORIZATION_HEADER_BYTES / 4), client_id: "agent" };
    const assertion = await gateway.sign({
      audience: env.API_AUDIENCE,
      sub,
      orgId: "org-1",
      act,
      clientId: "client-1",
      decisionId: crypto.randomUUID(),
      abacFilter,
      method: "GET",
      path,
      search: "",
    });
    expect(assertion.length).toBeGreaterThan(4096);
    const request = new Request(`${ORIGIN}${path}`, {
      headers: {
        [TRUSTED_HEADER.userId]: sub,
        [TRUSTED_HEADER.orgId]: "org-1",
        [TRUSTED_HEADER.actorId]: act.sub,
        [TRUSTED_HEADER.abacFilter]: abacFilter,
        [TRUSTED_HEADER.gatewayAssertion]: assertion,
      },
    });
    const verifier = new GatewayAssertionVerifier({ issuer: env.ISSUER, jwks: JSON.parse(env.GATEWAY_ASSERTION_JWKS) });
    await expect(verifier.verify(request, new URL(request.url), { audience: env.API_AUDIENCE })).resolves.toMatchObject(
      { sub, path },
    );
    // Past what the gateway can sign, it is still refused before any decoding.
    request.headers.set(TRUSTED_HEADER.gatewayAssertion, `${assertion}${"A".repeat(32_768)}`);
    await expect(verifier.verify(request, new URL(request.url), { audience: env.API_AUDIENCE })).rejects.toMatchObject({
      code: "ERR_ASSERTION_MALFORMED",
    });
  });

  it("EMPTY_QUERY_SHA256 is SHA-256 of no bytes, as querySha256 gives for no query and for a bare `?`", async () => {
    expect(await filterHash("")).toBe(EMPTY_QUERY_SHA256);
    expect(querySha256("")).toBe(EMPTY_QUERY_SHA256);
    expect(querySha256("?")).toBe(EMPTY_QUERY_SHA256);
  });

  it("publishes its public key at ENDPOINT.gatewayJwks: the key the demo pins, never the issuer's JWKS", async () => {
    const response = await gatewayFetch(`${ORIGIN}${ENDPOINT.gatewayJwks}`);
    expect(response.status).toBe(200);
    const jwks = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(jwks).toEqual(JSON.parse(env.GATEWAY_ASSERTION_JWKS));
    expect(jwks.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(jwks.keys[0]).not.toHaveProperty("d");
    // A downstream verifies with it.
    const received = await echoed();
    const verifier = new GatewayAssertionVerifier({ issuer: env.ISSUER, jwks: jwks as never });
    const request = new Request(`${ORIGIN}${ENDPOINT.demoEcho}`, { headers: received });
    await expect(verifier.verify(request, new URL(request.url), { audience: env.API_AUDIENCE })).resolves.toMatchObject(
      { sub: "user-1" },
    );
  });
});

describe("the demo service refuses what the gateway did not sign for it", () => {
  /** A request to the demo that bypasses the gateway, with the given headers. */
  function atDemo(path: string, headers: Headers) {
    return env.DEMO.fetch(`${ORIGIN}${path}`, { headers });
  }

  async function expectRefused(response: Response, code: string) {
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({
      error: "invalid_gateway_assertion",
      error_description: expect.stringMatching(new RegExp(`^${code}:`)),
    });
  }

  /** The trusted headers the gateway sent for a real request (with `query`), to replay or tamper with. */
  async function genuine(query = ""): Promise<Headers> {
    const received = (await echoedAt(query)).headers;
    return new Headers(
      [...received].filter(([name]) => Object.values(TRUSTED_HEADER).some((t) => t.toLowerCase() === name)),
    );
  }

  /** An assertion with valid claims for the echo, changed by `edit`, signed by `key` with `header`. */
  async function forged(
    headers: Headers,
    edit: (claims: GatewayAssertionClaims) => Record<string, unknown>,
    header: Record<string, unknown> = {},
    key: CryptoKey = gatewayKey.privateKey,
  ): Promise<Headers> {
    const claims = decodePayload(headers.get(TRUSTED_HEADER.gatewayAssertion) as string);
    const jwt = await new SignJWT(edit(claims))
      .setProtectedHeader({ alg: "ES256", typ: JWT_TYP.gatewayAssertion, kid: gatewayKey.publicJwk.kid, ...header })
      .sign(key);
    const out = new Headers(headers);
    out.set(TRUSTED_HEADER.gatewayAssertion, jwt);
    return out;
  }

  it("accepts the genuine headers as they came (the control case)", async () => {
    expect((await atDemo(ENDPOINT.demoEcho, await genuine())).status).toBe(200);
  });

  it("ERR_ASSERTION_MISSING: trusted headers without an assertion", async () => {
    const headers = await genuine();
    headers.delete(TRUSTED_HEADER.gatewayAssertion);
    await expectRefused(await atDemo(ENDPOINT.demoEcho, headers), "ERR_ASSERTION_MISSING");
  });

  it("ERR_ASSERTION_FILTER_MISMATCH: a widened X-ABAC-Filter under a genuine assertion", async () => {
    const headers = await genuine();
    headers.set(TRUSTED_HEADER.abacFilter, JSON.stringify({ org_id: "org_someone_else" }));
    await expectRefused(await atDemo(ENDPOINT.demoEcho, headers), "ERR_ASSERTION_FILTER_MISMATCH");
  });

  it("ERR_ASSERTION_HEADER_MISMATCH: another subject, org or actor under a genuine assertion", async () => {
    for (const [name, value] of [
      [TRUSTED_HEADER.userId, "attacker"],
      [TRUSTED_HEADER.orgId, "org_someone_else"],
      [TRUSTED_HEADER.actorId, "evil-agent"],
    ] as const) {
      const headers = await genuine();
      headers.set(name, value);
      await expectRefused(await atDemo(ENDPOINT.demoEcho, headers), "ERR_ASSERTION_HEADER_MISMATCH");
    }
  });

  it("ERR_ASSERTION_REQUEST_MISMATCH: a genuine assertion replayed on another path or method", async () => {
    await expectRefused(await atDemo(ENDPOINT.documents, await genuine()), "ERR_ASSERTION_REQUEST_MISMATCH");
    const response = await env.DEMO.fetch(`${ORIGIN}${ENDPOINT.demoEcho}`, {
      method: "DELETE",
      headers: await genuine(),
    });
    await expectRefused(response, "ERR_ASSERTION_REQUEST_MISMATCH");
  });

  it("ERR_ASSERTION_REQUEST_MISMATCH: a genuine assertion replayed with another query, none, or one added", async () => {
    const mine = await genuine("?id=doc-mine");
    expect((await atDemo(`${ENDPOINT.demoEcho}?id=doc-mine`, mine)).status).toBe(200);
    for (const query of ["?id=doc-another", "?id=doc-mine&id=doc-another", "?ID=doc-mine", ""]) {
      await expectRefused(await atDemo(`${ENDPOINT.demoEcho}${query}`, mine), "ERR_ASSERTION_REQUEST_MISMATCH");
    }
    // An assertion for a request without a query proves nothing for one with a query.
    await expectRefused(
      await atDemo(`${ENDPOINT.demoEcho}?id=doc-another`, await genuine()),
      "ERR_ASSERTION_REQUEST_MISMATCH",
    );
  });

  it("ERR_ASSERTION_AUD: an assertion for another service (the MCP route's audience)", async () => {
    const headers = await forged(await genuine(), (c) => ({ ...c, aud: `${env.ISSUER}${ENDPOINT.mcpDemo}` }));
    await expectRefused(await atDemo(ENDPOINT.demoEcho, headers), "ERR_ASSERTION_AUD");
  });

  it("ERR_ASSERTION_ISS, _EXPIRED, _NOT_YET_VALID, _LIFETIME, _CLAIM_INVALID: signed by the gateway's key, wrong claims", async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [(c: GatewayAssertionClaims) => Record<string, unknown>, string][] = [
      [(c) => ({ ...c, iss: "https://evil.example" }), "ERR_ASSERTION_ISS"],
      [(c) => ({ ...c, iat: now - 120, exp: now - 60 }), "ERR_ASSERTION_EXPIRED"],
      [(c) => ({ ...c, iat: now + 600, exp: now + 630 }), "ERR_ASSERTION_NOT_YET_VALID"],
      [(c) => ({ ...c, iat: now, exp: now + 3600 }), "ERR_ASSERTION_LIFETIME"],
      [(c) => ({ ...c, decision_id: undefined }), "ERR_ASSERTION_CLAIM_INVALID"],
      // Without the query claim an assertion would prove any query: refused, not taken as "no query".
      [(c) => ({ ...c, query_sha256: undefined }), "ERR_ASSERTION_CLAIM_INVALID"],
      [(c) => ({ ...c, query_sha256: "" }), "ERR_ASSERTION_CLAIM_INVALID"],
      [(c) => ({ ...c, sub: 42 }), "ERR_ASSERTION_CLAIM_INVALID"],
    ];
    for (const [edit, code] of cases) {
      await expectRefused(await atDemo(ENDPOINT.demoEcho, await forged(await genuine(), edit)), code);
    }
  });

  it("ERR_ASSERTION_SIGNATURE, _KID_UNKNOWN, _ALG, _TYP, _MALFORMED: forged signatures and headers", async () => {
    const other = await generateKeyPair("ES256");
    const same = (c: GatewayAssertionClaims) => ({ ...c });
    await expectRefused(
      await atDemo(ENDPOINT.demoEcho, await forged(await genuine(), same, {}, other.privateKey)),
      "ERR_ASSERTION_SIGNATURE",
    );
    await expectRefused(
      await atDemo(ENDPOINT.demoEcho, await forged(await genuine(), same, { kid: "attacker" }, other.privateKey)),
      "ERR_ASSERTION_KID_UNKNOWN",
    );
    // An access token (the issuer's key, typ at+jwt) is not an assertion.
    await expectRefused(
      await atDemo(ENDPOINT.demoEcho, await forged(await genuine(), same, { typ: JWT_TYP.accessToken })),
      "ERR_ASSERTION_TYP",
    );
    const genuineHeaders = await genuine();
    const [, payload] = (genuineHeaders.get(TRUSTED_HEADER.gatewayAssertion) as string).split(".");
    for (const alg of ["none", "HS256"]) {
      const header = base64url.encode(
        JSON.stringify({ alg, typ: JWT_TYP.gatewayAssertion, kid: gatewayKey.publicJwk.kid }),
      );
      const headers = new Headers(genuineHeaders);
      headers.set(TRUSTED_HEADER.gatewayAssertion, `${header}.${payload}.AAAA`);
      await expectRefused(await atDemo(ENDPOINT.demoEcho, headers), "ERR_ASSERTION_ALG");
    }
    const malformed = new Headers(genuineHeaders);
    malformed.set(TRUSTED_HEADER.gatewayAssertion, "not-a-jws");
    await expectRefused(await atDemo(ENDPOINT.demoEcho, malformed), "ERR_ASSERTION_MALFORMED");
  });

  it("an assertion presented to the gateway as a bearer token is refused: ERR_TOKEN_TYP", async () => {
    const assertion = (await genuine()).get(TRUSTED_HEADER.gatewayAssertion) as string;
    const response = await gatewayFetch(`${ORIGIN}${ENDPOINT.demoEcho}`, {
      headers: { Authorization: `Bearer ${assertion}` },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({
      error: "invalid_token",
      error_description: expect.stringMatching(/^ERR_TOKEN_TYP:/),
    });
  });
});
