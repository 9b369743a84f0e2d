import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { JWT_TYP, SIGNING_ALG } from "../../shared/contracts/tokens.ts";

/**
 * The host's side of bootstrap (workers/token/src/invites/possession-proof.ts
 * is the server's): a new ES256 key pair, and a proof signed by its private
 * key that carries the public key in its protected header, names the
 * bootstrap endpoint as `aud` and is bound to the invite by `ith`.
 */
export interface HostKey {
  /** The public JWK plus `d`: what the host keeps, never sends. */
  privateJwk: JWK;
  publicJwk: JWK;
  privateKey: CryptoKey;
  /** RFC 7638 thumbprint: the `kid` the server files the key under. */
  kid: string;
}

export async function generateHostKey(): Promise<HostKey> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const exported = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(exported, "sha256");
  const publicJwk = { ...exported, kid, alg: SIGNING_ALG, use: "sig" };
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG, use: "sig" },
    publicJwk,
    privateKey,
    kid,
  };
}

export async function possessionProof(key: HostKey, invite: string, endpoint: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(invite));
  const { kty, crv, x, y } = key.publicJwk;
  return new SignJWT({ ith: base64url.encode(new Uint8Array(digest)) })
    .setProtectedHeader({ alg: SIGNING_ALG, typ: JWT_TYP.hostBootstrapProof, jwk: { kty, crv, x, y } as JWK })
    .setAudience(endpoint)
    .setIssuedAt()
    .setJti(crypto.randomUUID())
    .sign(key.privateKey);
}
