import { base64url, exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CLOCK_TOLERANCE_SECONDS,
  MAX_ACCESS_TOKEN_TTL_SECONDS,
  MAX_GRANT_CHAIN_LENGTH,
  REQUIRED_ACCESS_TOKEN_CLAIMS,
} from "../../shared/contracts/tokens.ts";
import { TokenVerificationError } from "../../shared/jwt/errors.ts";
import { verifyAccessToken } from "../../shared/jwt/verify-access-token.ts";
import { accessTokenClaims } from "../support/runtime/access-token-claims.ts";

const ISSUER = "https://issuer.example";
const AUDIENCE = "https://issuer.example/api";
const KID = "test-key-1";

let privateKey: CryptoKey;
let publicKey: CryptoKey;
let otherPrivateKey: CryptoKey;

beforeAll(async () => {
  ({ privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true }));
  ({ privateKey: otherPrivateKey } = await generateKeyPair("ES256"));
});

const resolveKey = async (kid: string) => (kid === KID ? publicKey : undefined);
const verify = (token: string) => verifyAccessToken(token, { issuer: ISSUER, audience: AUDIENCE, resolveKey });

function claims(overrides: Record<string, unknown> = {}) {
  return accessTokenClaims(ISSUER, AUDIENCE, overrides);
}

function sign(payload: Record<string, unknown>, header: Record<string, unknown> = {}, key: CryptoKey = privateKey) {
  return new SignJWT(payload).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: KID, ...header }).sign(key);
}

async function expectCode(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenVerificationError);
  expect((error as TokenVerificationError).code).toBe(code);
}

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));

describe("verifyAccessToken", () => {
  it("accepts a well-formed token and returns its claims", async () => {
    const c = claims({ roles: ["member"], sid: "s1" });
    await expect(verify(await sign(c))).resolves.toMatchObject({
      sub: "user-1",
      org_id: "org-1",
      roles: ["member"],
      sid: "s1",
    });
  });

  it("accepts typ application/at+jwt (RFC 7515 §4.1.9)", async () => {
    await expect(verify(await sign(claims(), { typ: "application/at+jwt" }))).resolves.toBeDefined();
  });

  it("refuses an expired token", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectCode(verify(await sign(claims({ iat: now - 600, exp: now - 60 }))), "ERR_TOKEN_EXPIRED");
  });

  it("refuses a token issued in the future", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectCode(verify(await sign(claims({ iat: now + 600, exp: now + 900 }))), "ERR_TOKEN_NOT_YET_VALID");
  });

  it("tolerates CLOCK_TOLERANCE_SECONDS of skew on exp and iat, and no more", async () => {
    const now = Math.floor(Date.now() / 1000);
    const at = (seconds: number) => new Date((now + seconds) * 1000);
    const token = await sign(claims({ iat: now, exp: now + 60 }));
    const verifyAt = (seconds: number) =>
      verifyAccessToken(token, { issuer: ISSUER, audience: AUDIENCE, resolveKey, currentDate: at(seconds) });
    await expect(verifyAt(60 + CLOCK_TOLERANCE_SECONDS - 1)).resolves.toBeDefined();
    await expectCode(verifyAt(60 + CLOCK_TOLERANCE_SECONDS + 1), "ERR_TOKEN_EXPIRED");
    await expect(verifyAt(-CLOCK_TOLERANCE_SECONDS)).resolves.toBeDefined();
    await expectCode(verifyAt(-CLOCK_TOLERANCE_SECONDS - 2), "ERR_TOKEN_NOT_YET_VALID");
  });

  it("refuses a token whose exp - iat is longer than the maximum lifetime", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expect(
      verify(await sign(claims({ iat: now, exp: now + MAX_ACCESS_TOKEN_TTL_SECONDS }))),
    ).resolves.toBeDefined();
    await expectCode(
      verify(await sign(claims({ iat: now, exp: now + MAX_ACCESS_TOKEN_TTL_SECONDS + 1 }))),
      "ERR_TOKEN_LIFETIME",
    );
    // Backdating iat to stretch a long-lived token into the window does not help.
    await expectCode(verify(await sign(claims({ iat: now - 86_400, exp: now + 60 }))), "ERR_TOKEN_LIFETIME");
  });

  it("refuses a token not yet valid (nbf)", async () => {
    await expectCode(
      verify(await sign(claims({ nbf: Math.floor(Date.now() / 1000) + 600 }))),
      "ERR_TOKEN_NOT_YET_VALID",
    );
  });

  it("refuses the wrong audience", async () => {
    await expectCode(verify(await sign(claims({ aud: "https://other.example/api" }))), "ERR_TOKEN_AUD");
  });

  it("refuses the wrong issuer", async () => {
    await expectCode(verify(await sign(claims({ iss: "https://evil.example" }))), "ERR_TOKEN_ISS");
  });

  it("refuses another token kind (typ JWT, ID-JAG, missing)", async () => {
    await expectCode(verify(await sign(claims(), { typ: "JWT" })), "ERR_TOKEN_TYP");
    await expectCode(verify(await sign(claims(), { typ: "oauth-id-jag+jwt" })), "ERR_TOKEN_TYP");
    await expectCode(verify(await sign(claims(), { typ: undefined })), "ERR_TOKEN_TYP");
  });

  it("refuses alg none", async () => {
    const token = `${encode({ alg: "none", typ: "at+jwt", kid: KID })}.${encode(claims())}.`;
    await expectCode(verify(token), "ERR_TOKEN_MALFORMED");
    const withSig = `${encode({ alg: "none", typ: "at+jwt", kid: KID })}.${encode(claims())}.AAAA`;
    await expectCode(verify(withSig), "ERR_TOKEN_ALG");
  });

  it("refuses HS256 signed with the public key as the HMAC secret", async () => {
    const jwk = await exportJWK(publicKey);
    const secret = new TextEncoder().encode(JSON.stringify(jwk));
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: KID })
      .sign(secret);
    await expectCode(verify(token), "ERR_TOKEN_ALG");
  });

  it("refuses an unknown kid and a missing kid", async () => {
    await expectCode(
      verify(await sign(claims(), { kid: "someone-elses-key" }, otherPrivateKey)),
      "ERR_TOKEN_KID_UNKNOWN",
    );
    await expectCode(verify(await sign(claims(), { kid: undefined })), "ERR_TOKEN_KID_UNKNOWN");
  });

  it("refuses a token signed by another key under our kid", async () => {
    await expectCode(verify(await sign(claims(), {}, otherPrivateKey)), "ERR_TOKEN_SIGNATURE");
  });

  it("refuses a tampered payload", async () => {
    const [header, , signature] = (await sign(claims())).split(".");
    const tampered = `${header}.${encode(claims({ sub: "admin" }))}.${signature}`;
    await expectCode(verify(tampered), "ERR_TOKEN_SIGNATURE");
  });

  it("refuses garbage and non-JSON headers", async () => {
    await expectCode(verify("not-a-jwt"), "ERR_TOKEN_MALFORMED");
    await expectCode(verify("a.b.c"), "ERR_TOKEN_MALFORMED");
    await expectCode(verify(`${base64url.encode("{oops")}.${encode(claims())}.sig`), "ERR_TOKEN_MALFORMED");
  });

  it("refuses crit headers it does not understand (RFC 7515 §4.1.11)", async () => {
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: KID, crit: ["urn:x"], "urn:x": 1 })
      .sign(privateKey)
      .catch(() => undefined);
    // jose may refuse to produce it; if it does, the check is still covered by construction.
    if (token) await expectCode(verify(token), "ERR_TOKEN_MALFORMED");
  });

  for (const claim of REQUIRED_ACCESS_TOKEN_CLAIMS.filter((c) => c !== "aud" && c !== "iss")) {
    it(`requires ${claim}`, async () => {
      const c: Record<string, unknown> = claims();
      delete c[claim];
      await expectCode(verify(await sign(c)), "ERR_TOKEN_CLAIM_MISSING");
    });
  }

  it("refuses claims of the wrong type", async () => {
    await expectCode(verify(await sign(claims({ org_id: 42 }))), "ERR_TOKEN_CLAIM_INVALID");
    await expectCode(verify(await sign(claims({ roles: "owner" }))), "ERR_TOKEN_CLAIM_INVALID");
    await expectCode(verify(await sign(claims({ scope: ["documents:read"] }))), "ERR_TOKEN_CLAIM_INVALID");
  });
});

describe("verifyAccessToken: delegation", () => {
  it("accepts a nested act chain and refuses a malformed one", async () => {
    const act = { sub: "agent-1", act: { sub: "agent-0" } };
    await expect(verify(await sign(claims({ act })))).resolves.toMatchObject({ act });
    await expectCode(verify(await sign(claims({ act: { client_id: "x" } }))), "ERR_TOKEN_CLAIM_INVALID");
  });

  it("accepts the grants a token rests on, and refuses a chain it could not match against a revocation", async () => {
    const grants = { grant_id: "dg_b", grant_chain: ["dg_a"] };
    await expect(verify(await sign(claims(grants)))).resolves.toMatchObject(grants);
    for (const grant_chain of [
      "dg_a",
      [""],
      [42],
      Array.from({ length: MAX_GRANT_CHAIN_LENGTH + 1 }, (_, i) => `dg_${i}`),
    ]) {
      await expectCode(verify(await sign(claims({ grant_chain }))), "ERR_TOKEN_CLAIM_INVALID");
    }
  });

  it("accepts the clients of the browser grants of a chain, one each and no other, and refuses any other shape", async () => {
    const grant_chain = ["dg_a", "oidc-grant:g", "oidc-grant:h"];
    const grant_chain_clients = { "oidc-grant:g": "oidc_a", "oidc-grant:h": "oidc_b" };
    await expect(verify(await sign(claims({ grant_chain, grant_chain_clients })))).resolves.toMatchObject({
      grant_chain,
      grant_chain_clients,
    });
    // Signed before the claim existed: valid, and read by the conservative rule (shared/revocation).
    await expect(verify(await sign(claims({ grant_chain })))).resolves.not.toHaveProperty("grant_chain_clients");
    for (const [chain, clients] of [
      [undefined, { "oidc-grant:g": "oidc_a" }], // no chain to line up with
      [["dg_a"], {}], // no browser grant: the claim must be absent
      [grant_chain, { "oidc-grant:g": "oidc_a" }], // a browser grant without its client
      [grant_chain, { ...grant_chain_clients, "oidc-grant:x": "oidc_c" }], // a grant the chain does not name
      [grant_chain, { ...grant_chain_clients, dg_a: "oidc_c" }], // a delegation grant
      [grant_chain, { ...grant_chain_clients, "oidc-grant:h": "" }],
      [grant_chain, { ...grant_chain_clients, "oidc-grant:h": 7 }],
      [grant_chain, [["oidc-grant:g", "oidc_a"]]],
      [grant_chain, "oidc_a"],
      [grant_chain, null],
    ] as const) {
      const token = await sign(claims({ grant_chain: chain, grant_chain_clients: clients }));
      await expect(verify(token), JSON.stringify(clients)).rejects.toMatchObject({
        code: "ERR_TOKEN_CLAIM_INVALID",
        detail: "grant_chain_clients",
      });
    }
  });
});
