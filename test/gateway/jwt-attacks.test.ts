import { base64url, exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { JWT_TYP } from "../../shared/contracts/tokens.ts";
import { gatewayFetch, memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// JWT attacks beyond the foundation's list (protect.test.ts has no token,
// expired, wrong aud/iss/typ, alg none, HS256 with the public key, unknown
// kid, tampered payload, oversized header): each refused at the gateway with
// 401 invalid_token and its exact code, before any policy or upstream.
let signer: TestSigner;
let attacker: CryptoKeyPair;

beforeAll(async () => {
  signer = await testSigner();
  attacker = await generateKeyPair("ES256", { extractable: true });
});

beforeEach(() => signer.publish());

async function expectRefused(token: string, code: string) {
  const response = await gatewayFetch(`http://localhost:8787${ENDPOINT.documents}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(response.status, code).toBe(401);
  expect(response.headers.get("WWW-Authenticate")).toContain(`error="invalid_token", error_description="${code}:`);
  expect(await response.json()).toMatchObject({
    error: "invalid_token",
    error_description: expect.stringMatching(new RegExp(`^${code}:`)),
  });
}

function attackerSigned(header: Record<string, unknown>, claims = memberClaims()) {
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "at+jwt", ...header }).sign(attacker.privateKey);
}

describe("JWT attacks at the gateway", () => {
  it("a key embedded in the header (jwk) or pointed to (jku, x5u) is never used: ERR_TOKEN_SIGNATURE / KID_UNKNOWN", async () => {
    const jwk = await exportJWK(attacker.publicKey);
    await expectRefused(await attackerSigned({ kid: signer.kid, jwk }), "ERR_TOKEN_SIGNATURE");
    await expectRefused(
      await attackerSigned({ kid: signer.kid, jku: "https://evil.example/jwks.json" }),
      "ERR_TOKEN_SIGNATURE",
    );
    await expectRefused(
      await attackerSigned({ kid: signer.kid, x5u: "https://evil.example/cert.pem" }),
      "ERR_TOKEN_SIGNATURE",
    );
    await expectRefused(await attackerSigned({ kid: "attacker", jwk }), "ERR_TOKEN_KID_UNKNOWN");
  });

  it("kid injection: a path, SQL or an overlong kid is just an unknown kid", async () => {
    for (const kid of ["../../../../dev/null", "' OR '1'='1", "k".repeat(200), ""]) {
      await expectRefused(await signer.sign(memberClaims(), { kid }), "ERR_TOKEN_KID_UNKNOWN");
    }
  });

  it("another kind of our own JWTs is not an access token: ERR_TOKEN_TYP", async () => {
    for (const typ of [JWT_TYP.idJag, JWT_TYP.hostInvite, JWT_TYP.gatewayAssertion, JWT_TYP.dpopProof, "JWT"]) {
      await expectRefused(await signer.sign(memberClaims(), { typ }), "ERR_TOKEN_TYP");
    }
  });

  it("a critical header extension is refused before any key is used: ERR_TOKEN_MALFORMED", async () => {
    const header = base64url.encode(
      JSON.stringify({ alg: "ES256", typ: "at+jwt", kid: signer.kid, crit: ["x-ext"], "x-ext": 1 }),
    );
    await expectRefused(`${header}.${base64url.encode(JSON.stringify(memberClaims()))}.AAAA`, "ERR_TOKEN_MALFORMED");
  });

  it("nbf in the future: ERR_TOKEN_NOT_YET_VALID; a required claim missing: ERR_TOKEN_CLAIM_MISSING", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await signer.sign(memberClaims({ nbf: now + 600 })), "ERR_TOKEN_NOT_YET_VALID");
    for (const claim of ["jti", "org_id", "client_id", "exp", "iat"]) {
      await expectRefused(await signer.sign(memberClaims({ [claim]: undefined })), "ERR_TOKEN_CLAIM_MISSING");
    }
  });

  it("a signature in the wrong encoding (DER, not r||s) or truncated: ERR_TOKEN_SIGNATURE", async () => {
    const [h, p, s] = (await signer.sign(memberClaims())).split(".") as [string, string, string];
    const raw = base64url.decode(s);
    await expectRefused(`${h}.${p}.${base64url.encode(raw.slice(0, 32))}`, "ERR_TOKEN_SIGNATURE");
    const der = new Uint8Array([0x30, 0x44, 0x02, 0x20, ...raw.slice(0, 32), 0x02, 0x20, ...raw.slice(32)]);
    await expectRefused(`${h}.${p}.${base64url.encode(der)}`, "ERR_TOKEN_SIGNATURE");
  });
});
