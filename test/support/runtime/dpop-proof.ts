import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { JWT_TYP } from "../../../shared/contracts/tokens.ts";

/** A client's DPoP key pair (RFC 9449 §2), as a well-behaved client holds it. */
export interface DpopKey {
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** RFC 7638 thumbprint: what `cnf.jkt` of a token bound to this key says. */
  jkt: string;
}

export async function dpopKey(alg = "ES256"): Promise<DpopKey> {
  const pair = await generateKeyPair(alg, {
    extractable: true,
    ...(alg.startsWith("RS") || alg.startsWith("PS") ? { modulusLength: 2048 } : {}),
  });
  const publicJwk = await exportJWK(pair.publicKey);
  return { alg, privateKey: pair.privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk) };
}

export interface ProofOptions {
  htm: string;
  htu: string;
  nonce?: string;
  /** RFC 9449 §4.2 `ath` is computed from it. */
  accessToken?: string;
  /** Seconds since the epoch; now by default. */
  iat?: number;
  /** Claims to add or override (`undefined` removes one). */
  claims?: Record<string, unknown>;
  /** Header parameters to add or override (`undefined` removes one). */
  header?: Record<string, unknown>;
  /** Sign with another key than the one in the header. */
  signWith?: CryptoKey;
}

/** A DPoP proof JWT (RFC 9449 §4.2). */
export async function dpopProof(key: DpopKey, options: ProofOptions): Promise<string> {
  const claims: Record<string, unknown> = {
    jti: crypto.randomUUID(),
    htm: options.htm,
    htu: options.htu,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
    ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
    ...(options.accessToken !== undefined ? { ath: await sha256(options.accessToken) } : {}),
    ...options.claims,
  };
  const header: Record<string, unknown> = {
    typ: JWT_TYP.dpopProof,
    alg: key.alg,
    jwk: key.publicJwk,
    ...options.header,
  };
  return new SignJWT(withoutUndefined(claims))
    .setProtectedHeader(withoutUndefined(header) as { alg: string })
    .sign(options.signWith ?? key.privateKey);
}

/** A JWS with arbitrary header and payload and a junk signature (for `alg: none` and malformed cases). */
export function unsignedJws(header: Record<string, unknown>, claims: unknown, signature = ""): string {
  const part = (value: unknown) => base64url.encode(new TextEncoder().encode(JSON.stringify(value)));
  return `${part(header)}.${part(claims)}.${signature}`;
}

async function sha256(text: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

function withoutUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
