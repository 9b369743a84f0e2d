import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { DPOP_SIGNING_ALGS } from "../../shared/contracts/tokens.ts";
import { type DpopErrorCode, DpopProofError } from "../../shared/dpop/errors.ts";
import { normaliseHtu } from "../../shared/dpop/normalise-htu.ts";
import { readDpopProofHeader } from "../../shared/dpop/read-proof-header.ts";
import { type DpopProofExpectations, verifyDpopProof } from "../../shared/dpop/verify-dpop-proof.ts";
import { dpopKey, dpopProof, unsignedJws } from "../support/runtime/dpop-proof.ts";

const URI = "https://id.example.com/oauth2/token";
const now = () => Math.floor(Date.now() / 1000);

function expectations(overrides: Partial<DpopProofExpectations> = {}): DpopProofExpectations {
  return { method: "POST", uri: URI, now: now(), maxAgeSeconds: 60, clockToleranceSeconds: 5, ...overrides };
}

async function refusal(promise: Promise<unknown>): Promise<DpopErrorCode> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DpopProofError);
  return (error as DpopProofError).code;
}

describe("DPoP proof verification (RFC 9449 §4.3)", () => {
  it.each(DPOP_SIGNING_ALGS)(
    "accepts a proof signed with %s and returns the key's RFC 7638 thumbprint",
    async (alg) => {
      const key = await dpopKey(alg);
      const proof = await dpopProof(key, { htm: "POST", htu: URI });
      const verified = await verifyDpopProof(proof, expectations());
      expect(verified.jkt).toBe(key.jkt);
      expect(typeof verified.jti).toBe("string");
    },
  );

  it("step 1: more than one DPoP header is ERR_DPOP_MULTIPLE", async () => {
    const key = await dpopKey();
    const headers = new Headers();
    headers.append("DPoP", await dpopProof(key, { htm: "POST", htu: URI }));
    headers.append("DPoP", await dpopProof(key, { htm: "POST", htu: URI }));
    expect(() => readDpopProofHeader(headers)).toThrowError(DpopProofError);
    try {
      readDpopProofHeader(headers);
    } catch (error) {
      expect((error as DpopProofError).code).toBe("ERR_DPOP_MULTIPLE");
    }
    expect(readDpopProofHeader(new Headers())).toBeUndefined();
  });

  it("step 2: anything but one well-formed JWT is ERR_DPOP_MALFORMED", async () => {
    const key = await dpopKey();
    const good = await dpopProof(key, { htm: "POST", htu: URI });
    const [h, p] = good.split(".") as [string, string, string];
    for (const proof of [
      "not-a-jwt",
      `${h}.${p}`,
      `${h}.${p}.sig.extra`,
      `${"e30"}.!!.sig`,
      unsignedJws({ typ: "dpop+jwt", alg: "ES256" }, [1, 2], "c2ln"),
      `bm90IGpzb24.${p}.c2ln`,
    ]) {
      expect(await refusal(verifyDpopProof(proof, expectations()))).toBe("ERR_DPOP_MALFORMED");
    }
    // RFC 7515 §4.1.11: an extension we do not understand (jose will not sign one, so the signature is junk).
    const critical = unsignedJws(
      { typ: "dpop+jwt", alg: "ES256", jwk: key.publicJwk, crit: ["x"], x: 1 },
      { jti: "j", htm: "POST", htu: URI, iat: now() },
      "c2ln",
    );
    expect(await refusal(verifyDpopProof(critical, expectations()))).toBe("ERR_DPOP_MALFORMED");
  });

  it.each(["jti", "htm", "htu", "iat"])("step 3: a proof without %s is ERR_DPOP_CLAIM_MISSING", async (claim) => {
    const key = await dpopKey();
    const proof = await dpopProof(key, { htm: "POST", htu: URI, claims: { [claim]: undefined } });
    expect(await refusal(verifyDpopProof(proof, expectations()))).toBe("ERR_DPOP_CLAIM_MISSING");
  });

  it("step 3: with an access token, a proof without ath is ERR_DPOP_CLAIM_MISSING", async () => {
    const key = await dpopKey();
    const proof = await dpopProof(key, { htm: "GET", htu: URI });
    const code = await refusal(verifyDpopProof(proof, expectations({ method: "GET", accessToken: "token" })));
    expect(code).toBe("ERR_DPOP_CLAIM_MISSING");
  });

  it("step 4: a typ other than dpop+jwt is ERR_DPOP_TYP", async () => {
    const key = await dpopKey();
    for (const typ of ["JWT", "at+jwt", undefined]) {
      const proof = await dpopProof(key, { htm: "POST", htu: URI, header: { typ } });
      expect(await refusal(verifyDpopProof(proof, expectations()))).toBe("ERR_DPOP_TYP");
    }
    // RFC 7515 §4.1.9: a media type, case-insensitive, `application/` optional: what jose's `typ` option
    // takes too. Only the browser provider's grants, whose Better Auth takes "dpop+jwt" alone, ask more
    // (workers/token/src/dpop/browser-provider-proof.ts).
    for (const typ of ["dpop+jwt", "DPoP+JWT", "application/dpop+jwt", "application/DPoP+JWT"]) {
      const proof = await dpopProof(key, { htm: "POST", htu: URI, header: { typ } });
      await expect(verifyDpopProof(proof, expectations()), typ).resolves.toBeDefined();
    }
    for (const typ of ["application/jwt", "dpop+jwt ", "text/dpop+jwt"]) {
      const proof = await dpopProof(key, { htm: "POST", htu: URI, header: { typ } });
      expect(await refusal(verifyDpopProof(proof, expectations())), typ).toBe("ERR_DPOP_TYP");
    }
  });

  it("step 5: none, a MAC or an algorithm we do not support is ERR_DPOP_ALG", async () => {
    const key = await dpopKey();
    const claims = { jti: "j", htm: "POST", htu: URI, iat: now() };
    const none = unsignedJws({ typ: "dpop+jwt", alg: "none", jwk: key.publicJwk }, claims);
    expect(await refusal(verifyDpopProof(none, expectations()))).toBe("ERR_DPOP_ALG");
    // A MAC "signed" with the public key as the secret: refused before any key is used.
    const hmac = unsignedJws({ typ: "dpop+jwt", alg: "HS256", jwk: key.publicJwk }, claims, "c2ln");
    expect(await refusal(verifyDpopProof(hmac, expectations()))).toBe("ERR_DPOP_ALG");
    const es512 = await generateKeyPair("ES512");
    const unsupported = await new SignJWT(claims)
      .setProtectedHeader({ typ: "dpop+jwt", alg: "ES512", jwk: await exportJWK(es512.publicKey) })
      .sign(es512.privateKey);
    expect(await refusal(verifyDpopProof(unsupported, expectations()))).toBe("ERR_DPOP_ALG");
  });

  it("step 6: a signature by another key than the one in jwk is ERR_DPOP_SIGNATURE", async () => {
    const key = await dpopKey();
    const other = await dpopKey();
    const proof = await dpopProof(key, { htm: "POST", htu: URI, signWith: other.privateKey });
    expect(await refusal(verifyDpopProof(proof, expectations()))).toBe("ERR_DPOP_SIGNATURE");
  });

  it("steps 6-7: no jwk, a private key in it, or a key of another type is ERR_DPOP_JWK", async () => {
    const key = await dpopKey();
    const privateJwk = await exportJWK(key.privateKey);
    const p384 = await dpopKey("ES384");
    const rsa = await dpopKey("RS256");
    for (const jwk of [undefined, "jwk", privateJwk, { kty: "oct", k: "AAAA" }, p384.publicJwk, rsa.publicJwk]) {
      const proof = await dpopProof(key, { htm: "POST", htu: URI, header: { jwk } });
      expect(await refusal(verifyDpopProof(proof, expectations()))).toBe("ERR_DPOP_JWK");
    }
  });

  // RFC 7517 §4.2/§4.3: a key whose `use` or `key_ops` says it is not for verifying signatures is not
  // one a proof may be verified with; WebCrypto, and so Better Auth's check, refuses such a key_ops too.
  it("steps 6-7: a jwk whose use is not sig, whose key_ops is anything but [verify], or whose ext is not a boolean, is ERR_DPOP_JWK", async () => {
    const key = await dpopKey();
    for (const extra of [
      { use: "enc" },
      { use: "SIG" },
      { use: 1 },
      { key_ops: ["sign"] },
      { key_ops: ["sign", "verify"] },
      { key_ops: ["verify", "verify"] },
      { key_ops: ["encrypt"] },
      { key_ops: [] },
      { key_ops: "verify" },
      { use: "sig", key_ops: ["sign"] },
      // WebCrypto's JsonWebKey member: a boolean, or the key is not one WebCrypto (and so Better Auth) imports.
      { ext: "yes" },
      { ext: 1 },
    ]) {
      const proof = await dpopProof(key, { htm: "POST", htu: URI, header: { jwk: { ...key.publicJwk, ...extra } } });
      expect(await refusal(verifyDpopProof(proof, expectations())), JSON.stringify(extra)).toBe("ERR_DPOP_JWK");
    }
    for (const extra of [
      { use: "sig" },
      { key_ops: ["verify"] },
      { use: "sig", key_ops: ["verify"] },
      { ext: true },
      { ext: false },
    ]) {
      const proof = await dpopProof(key, { htm: "POST", htu: URI, header: { jwk: { ...key.publicJwk, ...extra } } });
      await expect(verifyDpopProof(proof, expectations()), JSON.stringify(extra)).resolves.toMatchObject({
        jkt: key.jkt,
      });
    }
  });

  it("step 8: another method, or the same in another case, is ERR_DPOP_HTM", async () => {
    const key = await dpopKey();
    for (const htm of ["GET", "post"]) {
      const proof = await dpopProof(key, { htm, htu: URI });
      expect(await refusal(verifyDpopProof(proof, expectations()))).toBe("ERR_DPOP_HTM");
    }
  });

  it("step 9: another URI is ERR_DPOP_HTU; query, fragment and normalisable spellings are not", async () => {
    const key = await dpopKey();
    for (const htu of [
      "https://id.example.com/oauth2/token/",
      "https://id.example.com/oauth2/revoke",
      "http://id.example.com/oauth2/token",
      "https://evil.example/oauth2/token",
      "https://id.example.com:8443/oauth2/token",
      "/oauth2/token",
      "not a uri",
    ]) {
      const proof = await dpopProof(key, { htm: "POST", htu });
      expect(await refusal(verifyDpopProof(proof, expectations()))).toBe("ERR_DPOP_HTU");
    }
    for (const htu of [
      "https://id.example.com/oauth2/token?x=1",
      "https://id.example.com/oauth2/token#f",
      "HTTPS://ID.EXAMPLE.COM:443/oauth2/token",
    ]) {
      const proof = await dpopProof(key, { htm: "POST", htu });
      await expect(verifyDpopProof(proof, expectations())).resolves.toBeDefined();
    }
    expect(normaliseHtu("https://user:pw@id.example.com/x")).toBeUndefined();
  });

  it("step 9: RFC 3986 §6.2.2 percent-encoding normalisation: unreserved escapes decoded, the rest upper-cased, reserved ones kept", async () => {
    const key = await dpopKey();
    for (const htu of [
      "https://id.example.com/oauth2/%74oken",
      "https://id.example.com/oauth2/%74%6F%6B%65%6E",
      "https://id.example.com/%6fauth2/token",
    ]) {
      const proof = await dpopProof(key, { htm: "POST", htu });
      await expect(verifyDpopProof(proof, expectations()), htu).resolves.toBeDefined();
    }
    for (const htu of ["https://id.example.com/oauth2%2Ftoken", "https://id.example.com/oauth2%2ftoken"]) {
      const proof = await dpopProof(key, { htm: "POST", htu });
      expect(await refusal(verifyDpopProof(proof, expectations())), htu).toBe("ERR_DPOP_HTU");
    }
    const forms: [string, string][] = [
      ["https://id.example.com/a/%7Efoo", "https://id.example.com/a/~foo"],
      ["https://id.example.com/a/%7efoo", "https://id.example.com/a/~foo"],
      ["https://id.example.com/%41%2d%2E%5f%7E%30", "https://id.example.com/A-._~0"],
      ["https://id.example.com/a%2fb%3f%23%40%c3%a9", "https://id.example.com/a%2Fb%3F%23%40%C3%A9"],
      ["https://id.example.com/a/%2e%2E/b", "https://id.example.com/b"],
      ["https://id.example.com/%zz%4", "https://id.example.com/%zz%4"],
    ];
    for (const [uri, normal] of forms) expect(normaliseHtu(uri), uri).toBe(normal);
  });

  it("step 10: when the server requires a nonce, a missing or unknown one is ERR_DPOP_NONCE (use_dpop_nonce)", async () => {
    const key = await dpopKey();
    const acceptNonce = (nonce: string | undefined) => nonce === "good";
    const missing = await dpopProof(key, { htm: "POST", htu: URI });
    const wrong = await dpopProof(key, { htm: "POST", htu: URI, nonce: "bad" });
    for (const proof of [missing, wrong]) {
      const error = await verifyDpopProof(proof, expectations({ acceptNonce })).catch((e: unknown) => e);
      expect((error as DpopProofError).code).toBe("ERR_DPOP_NONCE");
      expect((error as DpopProofError).protocolError).toBe("use_dpop_nonce");
    }
    const good = await dpopProof(key, { htm: "POST", htu: URI, nonce: "good" });
    await expect(verifyDpopProof(good, expectations({ acceptNonce }))).resolves.toBeDefined();
  });

  it("step 11: a proof too old or from the future is ERR_DPOP_IAT", async () => {
    const key = await dpopKey();
    for (const iat of [now() - 61, now() + 6]) {
      const proof = await dpopProof(key, { htm: "POST", htu: URI, iat });
      expect(await refusal(verifyDpopProof(proof, expectations()))).toBe("ERR_DPOP_IAT");
    }
    const notNumber = await dpopProof(key, { htm: "POST", htu: URI, claims: { iat: "now" } });
    expect(await refusal(verifyDpopProof(notNumber, expectations()))).toBe("ERR_DPOP_IAT");
    for (const iat of [now() - 59, now() + 4]) {
      const proof = await dpopProof(key, { htm: "POST", htu: URI, iat });
      await expect(verifyDpopProof(proof, expectations())).resolves.toBeDefined();
    }
  });

  // RFC 9449 asks for neither, but RFC 7519 §4.1.4/§4.1.5: a JWT past its exp or before its nbf MUST NOT be
  // accepted; with the same clock tolerance as iat's.
  it("RFC 7519 §4.1.4-§4.1.5: a proof past its exp is ERR_DPOP_EXP, before its nbf ERR_DPOP_NBF", async () => {
    const key = await dpopKey();
    const cases: [Record<string, unknown>, DpopErrorCode][] = [
      [{ exp: now() - 6 }, "ERR_DPOP_EXP"],
      [{ exp: now() - 3600 }, "ERR_DPOP_EXP"],
      [{ exp: "later" }, "ERR_DPOP_EXP"],
      [{ exp: null }, "ERR_DPOP_EXP"],
      [{ nbf: now() + 7 }, "ERR_DPOP_NBF"],
      [{ nbf: now() + 3600 }, "ERR_DPOP_NBF"],
      [{ nbf: "now" }, "ERR_DPOP_NBF"],
      [{ nbf: [1] }, "ERR_DPOP_NBF"],
    ];
    for (const [claims, code] of cases) {
      const proof = await dpopProof(key, { htm: "POST", htu: URI, claims });
      expect(await refusal(verifyDpopProof(proof, expectations())), JSON.stringify(claims)).toBe(code);
    }
    for (const claims of [{ exp: now() + 60 }, { exp: now() - 3 }, { nbf: now() }, { nbf: now() + 3 }]) {
      const proof = await dpopProof(key, { htm: "POST", htu: URI, claims });
      await expect(verifyDpopProof(proof, expectations()), JSON.stringify(claims)).resolves.toBeDefined();
    }
    expect(new DpopProofError("ERR_DPOP_EXP").publicDescription).toMatch(/^ERR_DPOP_EXP: /);
  });

  it("step 12: ath of another token is ERR_DPOP_ATH; a token bound to another key is ERR_DPOP_KEY_BINDING", async () => {
    const key = await dpopKey();
    const other = await dpopKey();
    const proof = await dpopProof(key, { htm: "GET", htu: URI, accessToken: "token-a" });
    const get = { method: "GET" };
    expect(await refusal(verifyDpopProof(proof, expectations({ ...get, accessToken: "token-b" })))).toBe(
      "ERR_DPOP_ATH",
    );
    const binding = await verifyDpopProof(proof, expectations({ ...get, accessToken: "token-a", boundJkt: other.jkt }))
      .then(() => undefined)
      .catch((e: unknown) => e as DpopProofError);
    expect(binding?.code).toBe("ERR_DPOP_KEY_BINDING");
    expect(binding?.protocolError).toBe("invalid_token");
    await expect(
      verifyDpopProof(proof, expectations({ ...get, accessToken: "token-a", boundJkt: key.jkt })),
    ).resolves.toMatchObject({ jkt: key.jkt });
  });

  it("descriptions name the code and nothing internal", async () => {
    const error = new DpopProofError("ERR_DPOP_SIGNATURE", "internal detail");
    expect(error.publicDescription).toMatch(/^ERR_DPOP_SIGNATURE: /);
    expect(error.publicDescription).not.toContain("internal detail");
    expect(error.clause).toBe("§4.3 step 6");
  });
});
