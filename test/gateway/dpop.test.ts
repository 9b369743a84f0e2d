import { env, exports } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { DPOP_SIGNING_ALGS } from "../../shared/contracts/tokens.ts";
import { DpopReplayCache } from "../../workers/gateway/src/trust/dpop-replay-cache.ts";
import { dpopKey, type DpopKey, dpopProof } from "../support/runtime/dpop-proof.ts";
import { memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// A DPoP-bound token (cnf.jkt) at the gateway, in front of the demo's echo,
// which answers with exactly what crossed: RFC 9449 §7.
const URL_ECHO = `${env.ISSUER}${ENDPOINT.demoEcho}`;
const ALGS = `algs="${DPOP_SIGNING_ALGS.join(" ")}"`;

let signer: TestSigner;
let key: DpopKey;

beforeAll(async () => {
  signer = await testSigner();
  key = await dpopKey();
});

beforeEach(() => signer.publish());

function boundToken(jkt = key.jkt, overrides: Record<string, unknown> = {}) {
  return signer.sign(memberClaims({ cnf: { jkt }, ...overrides }));
}

function get(headers: HeadersInit, url = URL_ECHO, method = "GET") {
  return exports.default.fetch(new Request(url, { method, headers }));
}

interface ProofFor {
  htm?: string;
  htu?: string;
  iat?: number;
  signer?: DpopKey;
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
}

async function proofFor(token: string, options: ProofFor = {}) {
  return dpopProof(options.signer ?? key, {
    htm: options.htm ?? "GET",
    htu: options.htu ?? URL_ECHO,
    accessToken: token,
    iat: options.iat,
    claims: options.claims,
    header: options.header,
  });
}

/** RFC 9449 §7.1: 401 with a DPoP challenge naming the error, the code and the accepted algorithms. */
async function expectDpopChallenge(response: Response, error: string, code: string) {
  expect(response.status).toBe(401);
  const challenge = response.headers.get("WWW-Authenticate") ?? "";
  expect(challenge).toMatch(new RegExp(`^DPoP realm="mono-auth", error="${error}", error_description="${code}: `));
  expect(challenge).toContain(ALGS);
  expect(await response.json()).toMatchObject({
    error,
    error_description: expect.stringMatching(new RegExp(`^${code}:`)),
  });
}

describe("gateway: DPoP-bound tokens (RFC 9449 §7)", () => {
  it("lets a bound token through with the DPoP scheme and a proof for this request; neither reaches the downstream", async () => {
    const token = await boundToken();
    const response = await get({ Authorization: `DPoP ${token}`, DPoP: await proofFor(token) });
    expect(response.status).toBe(200);
    const echoed = (await response.json()) as { headers: [string, string][] };
    const names = echoed.headers.map(([name]) => name.toLowerCase());
    expect(names).not.toContain("dpop");
    expect(names).not.toContain("authorization");
    expect(Object.fromEntries(echoed.headers)["x-user-id"]).toBe("user-1");
  });

  it("accepts the scheme in any case, and the proof's htu with a query", async () => {
    const token = await boundToken();
    const proof = await proofFor(token, { htu: `${URL_ECHO}?page=2` });
    const response = await get({ Authorization: `dpop ${token}`, DPoP: proof }, `${URL_ECHO}?page=1`);
    expect(response.status).toBe(200);
  });

  it("refuses a bound token sent as Bearer (§7.2: no downgrade), even with a valid proof", async () => {
    const token = await boundToken();
    await expectDpopChallenge(
      await get({ Authorization: `Bearer ${token}`, DPoP: await proofFor(token) }),
      "invalid_token",
      "ERR_DPOP_SCHEME",
    );
  });

  it("refuses a bound token without a proof, or with two", async () => {
    const token = await boundToken();
    await expectDpopChallenge(await get({ Authorization: `DPoP ${token}` }), "invalid_dpop_proof", "ERR_DPOP_MISSING");
    const headers = new Headers({ Authorization: `DPoP ${token}` });
    headers.append("DPoP", await proofFor(token));
    headers.append("DPoP", await proofFor(token));
    await expectDpopChallenge(await get(headers), "invalid_dpop_proof", "ERR_DPOP_MULTIPLE");
  });

  it("refuses a proof by another key than the token's (invalid_token, §7.1)", async () => {
    const token = await boundToken();
    const other = await dpopKey();
    await expectDpopChallenge(
      await get({ Authorization: `DPoP ${token}`, DPoP: await proofFor(token, { signer: other }) }),
      "invalid_token",
      "ERR_DPOP_KEY_BINDING",
    );
  });

  it("refuses a proof for another token, method, URL or time, each with its code", async () => {
    const token = await boundToken();
    const otherToken = await boundToken();
    const cases: [string, string][] = [
      [await proofFor(otherToken), "ERR_DPOP_ATH"],
      [await proofFor(token, { htm: "POST" }), "ERR_DPOP_HTM"],
      [await proofFor(token, { htu: `${env.ISSUER}${ENDPOINT.documents}` }), "ERR_DPOP_HTU"],
      [await proofFor(token, { htu: `https://elsewhere.example${ENDPOINT.demoEcho}` }), "ERR_DPOP_HTU"],
      [await proofFor(token, { iat: Math.floor(Date.now() / 1000) - 60 }), "ERR_DPOP_IAT"],
      [await dpopProof(key, { htm: "GET", htu: URL_ECHO }), "ERR_DPOP_CLAIM_MISSING"],
      ["not-a-proof", "ERR_DPOP_MALFORMED"],
    ];
    for (const [proof, code] of cases) {
      await expectDpopChallenge(await get({ Authorization: `DPoP ${token}`, DPoP: proof }), "invalid_dpop_proof", code);
    }
  });

  it("refuses a proof past its exp or before its nbf (RFC 7519 §4.1.4-§4.1.5), or whose jwk is not for verifying (RFC 7517 §4.2-§4.3)", async () => {
    const token = await boundToken();
    const now = Math.floor(Date.now() / 1000);
    const cases: [ProofFor, string][] = [
      [{ claims: { exp: now - 30 } }, "ERR_DPOP_EXP"],
      [{ claims: { exp: "never" } }, "ERR_DPOP_EXP"],
      [{ claims: { nbf: now + 30 } }, "ERR_DPOP_NBF"],
      [{ header: { jwk: { ...key.publicJwk, key_ops: ["sign"] } } }, "ERR_DPOP_JWK"],
      [{ header: { jwk: { ...key.publicJwk, use: "enc" } } }, "ERR_DPOP_JWK"],
    ];
    for (const [options, code] of cases) {
      const response = await get({ Authorization: `DPoP ${token}`, DPoP: await proofFor(token, options) });
      await expectDpopChallenge(response, "invalid_dpop_proof", code);
    }
    const good = await proofFor(token, {
      claims: { exp: now + 30, nbf: now },
      header: { jwk: { ...key.publicJwk, use: "sig", key_ops: ["verify"] } },
    });
    expect((await get({ Authorization: `DPoP ${token}`, DPoP: good })).status).toBe(200);
  });

  it("compares htu after RFC 3986 §6.2.2 percent-encoding normalisation (RFC 9449 §4.3 step 9), never decoding a reserved character", async () => {
    // [proof's htu, the request's URL]: an escaped unreserved character is the character, escapes are
    // compared in upper case. Each pair was ERR_DPOP_HTU while htu was compared as the URL parser left it.
    const echo = (path: string) => `${env.ISSUER}${path}`;
    const same: [string, string][] = [
      [echo("/api/echo"), echo("/api/%65cho")],
      [echo("/api/%65cho"), echo("/api/echo")],
      [echo("/api/ech%6f"), echo("/api/ech%6F")],
      [echo("/api/%65%63%68%6F"), echo("/api/%65%63%68%6f")],
    ];
    expect(ENDPOINT.demoEcho).toBe("/api/echo");
    for (const [htu, url] of same) {
      const token = await boundToken();
      const response = await get({ Authorization: `DPoP ${token}`, DPoP: await proofFor(token, { htu }) }, url);
      expect(response.status, `${htu} for ${url}`).toBe(200);
    }
    // Below the echo (the route is a subtree; the demo serves only the echo itself, so its own 404 is
    // the sign that the gateway let the request through).
    for (const [htu, url] of [
      [`${URL_ECHO}/~foo`, `${URL_ECHO}/%7Efoo`],
      [`${URL_ECHO}/%7efoo`, `${URL_ECHO}/%7Efoo`],
    ]) {
      const token = await boundToken();
      const response = await get({ Authorization: `DPoP ${token}`, DPoP: await proofFor(token, { htu }) }, url);
      expect(response.headers.get("WWW-Authenticate"), `${htu} for ${url}`).toBeNull();
      expect(await response.json()).toEqual({ error: "not_found", error_description: "no such path" });
    }
    // §2.2: an escaped reserved character is data, not the delimiter: /a%2Fb is not /a/b, nor %3F a query.
    for (const [htu, url] of [
      [`${URL_ECHO}/a%2Fb`, `${URL_ECHO}/a/b`],
      [`${URL_ECHO}/a%2fb`, `${URL_ECHO}/a/b`],
      [`${URL_ECHO}/a%3Fb`, `${URL_ECHO}/a?b`],
    ]) {
      const token = await boundToken();
      await expectDpopChallenge(
        await get({ Authorization: `DPoP ${token}`, DPoP: await proofFor(token, { htu }) }, url),
        "invalid_dpop_proof",
        "ERR_DPOP_HTU",
      );
    }
  });

  it("refuses a proof it has already seen (ERR_DPOP_REPLAY)", async () => {
    const token = await boundToken();
    const proof = await proofFor(token);
    expect((await get({ Authorization: `DPoP ${token}`, DPoP: proof })).status).toBe(200);
    await expectDpopChallenge(
      await get({ Authorization: `DPoP ${token}`, DPoP: proof }),
      "invalid_dpop_proof",
      "ERR_DPOP_REPLAY",
    );
  });

  it("refuses an unbound token sent with the DPoP scheme (ERR_DPOP_NOT_BOUND); as Bearer it passes", async () => {
    const token = await signer.sign(memberClaims());
    await expectDpopChallenge(
      await get({ Authorization: `DPoP ${token}`, DPoP: await proofFor(token) }),
      "invalid_token",
      "ERR_DPOP_NOT_BOUND",
    );
    expect((await get({ Authorization: `Bearer ${token}`, DPoP: "ignored" })).status).toBe(200);
  });

  it("answers a DPoP request whose token fails with a DPoP challenge", async () => {
    const expired = await boundToken(key.jkt, { iat: 1000, exp: 2000 });
    const response = await get({ Authorization: `DPoP ${expired}`, DPoP: await proofFor(expired) });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^DPoP realm="mono-auth", error="invalid_token"/);
  });

  it("audits each refusal with its code", async () => {
    const jti = crypto.randomUUID();
    const token = await boundToken(key.jkt, { jti });
    await get({ Authorization: `Bearer ${token}` });
    await expect
      .poll(async () =>
        (
          await env.AUDIT_DB.prepare(
            "SELECT outcome, detail FROM audit_event WHERE kind = 'gateway.decision' AND detail LIKE ?",
          )
            .bind(`%${jti}%`)
            .all<{ outcome: string; detail: string }>()
        ).results.map((r) => ({ outcome: r.outcome, error: (JSON.parse(r.detail) as { error?: string }).error })),
      )
      .toEqual([{ outcome: "deny", error: "ERR_DPOP_SCHEME" }]);
  });
});

describe("the isolate's replay cache", () => {
  it("blocks a proof until it ages out, then forgets it", () => {
    const cache = new DpopReplayCache(10);
    expect(cache.consume("k", "j1", 100, 50)).toBe(true);
    expect(cache.consume("k", "j1", 100, 99)).toBe(false);
    expect(cache.consume("other-key", "j1", 100, 99)).toBe(true);
    expect(cache.consume("k", "j1", 200, 100)).toBe(true);
  });

  it("holds at most its bound, forgetting the oldest first", () => {
    const cache = new DpopReplayCache(3);
    for (const jti of ["a", "b", "c", "d"]) expect(cache.consume("k", jti, 100, 0)).toBe(true);
    expect(cache.size).toBe(3);
    expect(cache.consume("k", "d", 100, 0)).toBe(false);
    expect(cache.consume("k", "a", 100, 0)).toBe(true);
  });
});
