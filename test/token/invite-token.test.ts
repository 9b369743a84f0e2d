// The invite JWT (workers/token/src/invites/invite-token.ts) and the host's
// proof of possession (invites/possession-proof.ts), each refusal with its
// exact code. The endpoint that puts them together: host-bootstrap.test.ts.
import { env } from "cloudflare:workers";
import {
  base64url,
  calculateJwkThumbprint,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JWK,
  SignJWT,
} from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { JWT_TYP, MAX_HOST_INVITE_TTL_SECONDS, SIGNING_ALG } from "../../shared/contracts/tokens.ts";
import { HostBootstrapError } from "../../workers/token/src/invites/errors.ts";
import { signInvite, verifyInvite } from "../../workers/token/src/invites/invite-token.ts";
import { databaseKeyResolver } from "../../workers/token/src/keys/database-key-resolver.ts";
import { PROOF_MAX_AGE_SECONDS, verifyPossessionProof } from "../../workers/token/src/invites/possession-proof.ts";
import {
  bootstrapEndpoint,
  hostKey,
  inviteClaims,
  issuer,
  issuerKeys,
  possessionProof,
  signWithIssuerKey,
} from "./invite-fixtures.ts";

const verify = (invite: string) => verifyInvite(invite, { issuer, resolveKey: databaseKeyResolver(env.DB) });

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HostBootstrapError);
  return (error as HostBootstrapError).code;
}

describe("the invite JWT", () => {
  it("is signed by the issuer's key with its own typ, for the bootstrap endpoint, and verifies", async () => {
    const claims = inviteClaims({ labels: { rack: "r1" } });
    const invite = await signInvite(issuerKeys(), claims);
    expect(decodeProtectedHeader(invite)).toMatchObject({ alg: SIGNING_ALG, typ: JWT_TYP.hostInvite });
    expect(claims.aud).toBe(`${issuer}${ENDPOINT.hostBootstrap}`);
    expect(await verify(invite)).toEqual(claims);
  });

  it("refuses an expired invite with invite_expired", async () => {
    const now = Math.floor(Date.now() / 1000);
    const invite = await signInvite(issuerKeys(), inviteClaims({ iat: now - 7200, exp: now - 3600 }));
    expect(await refusal(verify(invite))).toBe("invite_expired");
  });

  it("refuses a tampered invite (payload changed, signature kept) with invite_invalid", async () => {
    const invite = await signInvite(issuerKeys(), inviteClaims({ scope: "documents:read" }));
    const [header, payload, signature] = invite.split(".") as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
    const forged = base64url.encode(JSON.stringify({ ...claims, scope: "documents:read admin" }));
    const tampered = `${header}.${forged}.${signature}`;
    expect(await refusal(verify(tampered))).toBe("invite_invalid");
  });

  it("refuses another kind of token of ours (wrong typ) with invite_invalid", async () => {
    const invite = await signWithIssuerKey({ ...inviteClaims() }, { typ: JWT_TYP.accessToken });
    expect(await refusal(verify(invite))).toBe("invite_invalid");
  });

  it("refuses an invite for another audience with invite_invalid", async () => {
    const invite = await signInvite(issuerKeys(), inviteClaims({ aud: `${issuer}${ENDPOINT.token}` }));
    expect(await refusal(verify(invite))).toBe("invite_invalid");
  });

  it("refuses an invite of another issuer with invite_invalid", async () => {
    const invite = await signInvite(issuerKeys(), inviteClaims({ iss: "https://other.example" }));
    expect(await refusal(verify(invite))).toBe("invite_invalid");
  });

  it("refuses an invite without a required claim with invite_invalid", async () => {
    for (const claim of ["jti", "org_id", "exp", "iat"] as const) {
      const { [claim]: _left, ...rest } = inviteClaims();
      expect(await refusal(verify(await signWithIssuerKey(rest))), claim).toBe("invite_invalid");
    }
  });

  it("refuses an invite that lives longer than 24 hours with invite_invalid", async () => {
    const now = Math.floor(Date.now() / 1000);
    const invite = await signInvite(
      issuerKeys(),
      inviteClaims({ iat: now, exp: now + MAX_HOST_INVITE_TTL_SECONDS + 60 }),
    );
    expect(await refusal(verify(invite))).toBe("invite_invalid");
  });

  it("refuses an invite signed by a key that is not the issuer's with invite_invalid", async () => {
    const { privateKey } = await generateKeyPair(SIGNING_ALG);
    const invite = await new SignJWT({ ...inviteClaims() })
      .setProtectedHeader({ alg: SIGNING_ALG, typ: JWT_TYP.hostInvite, kid: "not-ours" })
      .sign(privateKey);
    expect(await refusal(verify(invite))).toBe("invite_invalid");
  });

  it("refuses alg none and HMAC before any key is looked up, with invite_invalid", async () => {
    const claims = inviteClaims();
    const unsecured = `${btoa(JSON.stringify({ alg: "none", typ: JWT_TYP.hostInvite })).replace(/=+$/, "")}.${btoa(JSON.stringify(claims)).replace(/=+$/, "")}.`;
    expect(await refusal(verify(unsecured))).toBe("invite_invalid");
    const hmac = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: "HS256", typ: JWT_TYP.hostInvite, kid: "k" })
      .sign(new TextEncoder().encode("a shared secret of 32 bytes or more"));
    expect(await refusal(verify(hmac))).toBe("invite_invalid");
  });
});

describe("the proof of possession", () => {
  const invite = "header.payload.signature";
  const check = (proof: string) => verifyPossessionProof(proof, { invite, endpoint: bootstrapEndpoint });

  it("registers the key it carries, public members only, under its RFC 7638 thumbprint", async () => {
    for (const alg of ["ES256", "EdDSA", "RS256"] as const) {
      const key = await hostKey(alg);
      const proven = await check(await possessionProof(key, invite));
      const thumbprint = await calculateJwkThumbprint(key.publicJwk);
      expect(proven.thumbprint).toBe(thumbprint);
      expect(proven.jwk).toEqual({ ...key.publicJwk, kid: thumbprint, alg, use: "sig" });
    }
  });

  it("refuses a proof signed by another key than the one it carries with invalid_proof", async () => {
    const key = await hostKey();
    const other = await hostKey();
    expect(await refusal(check(await possessionProof(key, invite, { signer: other.privateKey })))).toBe(
      "invalid_proof",
    );
  });

  it("refuses a proof bound to another invite with invalid_proof", async () => {
    const key = await hostKey();
    expect(await refusal(check(await possessionProof(key, "another.invite.jwt")))).toBe("invalid_proof");
  });

  it("refuses a proof for another endpoint, of another typ, stale, from the future or without jti with invalid_proof", async () => {
    const key = await hostKey();
    const now = Math.floor(Date.now() / 1000);
    const cases = {
      aud: await possessionProof(key, invite, { claims: { aud: `${issuer}${ENDPOINT.token}` } }),
      typ: await possessionProof(key, invite, { header: { typ: "dpop+jwt" } }),
      stale: await possessionProof(key, invite, { claims: { iat: now - PROOF_MAX_AGE_SECONDS - 60 } }),
      future: await possessionProof(key, invite, { claims: { iat: now + 600 } }),
      jti: await possessionProof(key, invite, { omit: ["jti"] }),
      ith: await possessionProof(key, invite, { omit: ["ith"] }),
      garbage: "not a jws",
    };
    for (const [name, proof] of Object.entries(cases)) expect(await refusal(check(proof)), name).toBe("invalid_proof");
  });

  it("refuses private key material, symmetric keys, weak RSA and keys that do not fit the alg with invalid_key", async () => {
    const es = await hostKey("ES256");
    const ed = await hostKey("EdDSA");
    const weak = await hostKey("RS256", 1024);
    const pair = await generateKeyPair("ES256", { extractable: true });
    const privateJwk = await exportJWK(pair.privateKey);
    const cases = {
      private: await possessionProof({ alg: "ES256", privateKey: pair.privateKey, publicJwk: privateJwk }, invite),
      mismatch: await possessionProof({ ...ed, alg: "ES256", privateKey: es.privateKey }, invite),
      weakRsa: await possessionProof(weak, invite),
      noKey: await possessionProof(es, invite, { header: { jwk: undefined } }),
      hmac: await new SignJWT({ aud: bootstrapEndpoint, iat: Math.floor(Date.now() / 1000), jti: "j" })
        .setProtectedHeader({
          alg: "HS256",
          typ: JWT_TYP.hostBootstrapProof,
          jwk: { kty: "oct", k: "c2VjcmV0" } as JWK,
        })
        .sign(new TextEncoder().encode("a shared secret of 32 bytes or more")),
    };
    for (const [name, proof] of Object.entries(cases)) expect(await refusal(check(proof)), name).toBe("invalid_key");
  });
});
