import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import { seal } from "./seal.ts";

/** A new signing key as a `signing_key` row (shared/db/schema.ts) holds it, status aside. */
export interface NewSigningKey {
  kid: string;
  alg: string;
  /** The public JWK as published: `kid`, `alg` and `use` set. */
  publicJwk: string;
  /** keys/seal.ts output; the private key never leaves the Worker in clear. */
  privateJwkSealed: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

/**
 * Generates a key pair for SIGNING_ALG and seals its private half. The kid
 * is the RFC 7638 thumbprint, so the same key always has the same kid.
 */
export async function generateSigningKey(sealingSecret: string, now = Date.now()): Promise<NewSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    alg: SIGNING_ALG,
    publicJwk: JSON.stringify({ ...publicJwk, kid, alg: SIGNING_ALG, use: "sig" }),
    privateJwkSealed: await seal(sealingSecret, kid, JSON.stringify(await exportJWK(privateKey))),
    createdAt: now,
  };
}
