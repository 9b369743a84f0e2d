import {
  base64url,
  calculateJwkThumbprint,
  decodeProtectedHeader,
  importJWK,
  type JWK,
  errors as joseErrors,
  jwtVerify,
} from "jose";
import { CLOCK_TOLERANCE_SECONDS, JWT_TYP } from "../../../../shared/contracts/tokens.ts";
import { CLIENT_ASSERTION_ALGS } from "../clients/client-keys.ts";
import { HostBootstrapError } from "./errors.ts";
import { COMPACT_JWS } from "../../../../shared/jwt/compact-jws.ts";
import { PRIVATE_JWK_MEMBERS } from "../../../../shared/jwt/jwk.ts";

/**
 * Proof that a host holds the private key it registers (docs/endpoints.md,
 * "Host bootstrap"). The ideas are RFC 7800's (the key a principal is bound
 * to is confirmed by possession, §3.1) and DPoP's (RFC 9449 §4.2), whose
 * proof format this follows:
 *
 * - a compact JWS, `typ` mono-host-pop+jwt, signed by the new private key;
 * - the public key in the protected header's `jwk` (RFC 7515 §4.1.3), so
 *   the signature covers the key and the two cannot be separated;
 * - `aud` = the bootstrap endpoint (a proof made for anything else fails);
 * - `iat` within PROOF_MAX_AGE_SECONDS (RFC 9449 §11.1: a proof is only
 *   accepted for a short time);
 * - `jti`, unique per proof;
 * - `ith` = base64url(SHA-256(invite)), as DPoP's `ath` binds a proof to
 *   one access token: the proof cannot be made before the host has the
 *   invite nor moved to another invite. The invite is issuer-made and
 *   single-use, so it also does the work of a server nonce (RFC 9449 §8)
 *   without a second round trip, and no replay store is needed for the
 *   proof: a replayed proof could only redeem the same, already redeemed
 *   invite, with the same key.
 */
export const PROOF_MAX_AGE_SECONDS = 300;

/**
 * The key algorithms a host may register, all asymmetric (RFC 7518 §3,
 * RFC 8037): exactly what a `private_key_jwt` client may sign its
 * assertions with. The proof's `alg` picks one, and the key must fit it.
 */
export const HOST_KEY_ALGORITHMS = CLIENT_ASSERTION_ALGS;
type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number];

/** RFC 7518 §3.3: an RSA key of fewer than 2048 bits must not be used. */
const MIN_RSA_MODULUS_BITS = 2048;

export const MAX_PROOF_CHARS = 8192;

/** The key a proof registered: its public members only, named by its RFC 7638 thumbprint. */
export interface ProvenKey {
  /** As stored in the client's JWKS: public members, `kid` = thumbprint, `alg`, `use: sig`. */
  jwk: JWK;
  /** RFC 7638 SHA-256 thumbprint (also the `kid`). */
  thumbprint: string;
}

export interface VerifyProofOptions {
  /** The invite this proof must be bound to (`ith`). */
  invite: string;
  /** The bootstrap endpoint's URL (`aud`). */
  endpoint: string;
  currentDate?: Date;
}

function badProof(description: string): HostBootstrapError {
  return new HostBootstrapError("invalid_proof", description);
}

function badKey(description: string): HostBootstrapError {
  return new HostBootstrapError("invalid_key", description);
}

/** base64url(SHA-256(ASCII(invite))): the `ith` a proof must carry (the RFC 9449 §4.2 `ath` recipe). */
export async function inviteHash(invite: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(invite))));
}

export async function verifyPossessionProof(proof: string, options: VerifyProofOptions): Promise<ProvenKey> {
  if (proof.length > MAX_PROOF_CHARS || !COMPACT_JWS.test(proof)) throw badProof("the proof is not a compact JWS");
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw badProof("the proof's protected header is not JSON");
  }
  if (header.typ !== JWT_TYP.hostBootstrapProof) {
    throw badProof(`the proof's typ must be ${JWT_TYP.hostBootstrapProof}`);
  }
  if (header.crit !== undefined) throw badProof("crit is not supported");
  const alg = header.alg;
  if (!HOST_KEY_ALGORITHMS.includes(alg as HostKeyAlgorithm)) {
    throw badKey(`the key's algorithm must be one of ${HOST_KEY_ALGORITHMS.join(", ")}`);
  }
  const publicJwk = publicMembers(header.jwk, alg as HostKeyAlgorithm);
  let key: CryptoKey;
  try {
    key = (await importJWK(publicJwk, alg)) as CryptoKey;
  } catch {
    throw badKey("the public key cannot be used with its algorithm");
  }
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(proof, key, {
      algorithms: [alg as HostKeyAlgorithm],
      typ: JWT_TYP.hostBootstrapProof,
      audience: options.endpoint,
      requiredClaims: ["aud", "iat", "jti"],
      maxTokenAge: PROOF_MAX_AGE_SECONDS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: options.currentDate,
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw badProof("the proof is not signed by the key it carries");
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired) {
      throw badProof(`the proof's ${error.claim} is not accepted`);
    }
    throw badProof("the proof is malformed");
  }
  const now = Math.floor((options.currentDate ?? new Date()).getTime() / 1000);
  if ((payload.iat as number) > now + CLOCK_TOLERANCE_SECONDS) throw badProof("the proof's iat is in the future");
  if (typeof payload.jti !== "string" || payload.jti.length === 0 || payload.jti.length > 256) {
    throw badProof("the proof's jti is invalid");
  }
  if (payload.ith !== (await inviteHash(options.invite))) throw badProof("the proof is not bound to this invite (ith)");
  const thumbprint = await calculateJwkThumbprint(publicJwk, "sha256");
  return { jwk: { ...publicJwk, kid: thumbprint, alg, use: "sig" }, thumbprint };
}

/**
 * The public members of the offered key, checked against the algorithm
 * (RFC 7518 §3.4: ES256 is P-256; RFC 8037 §3.1: EdDSA on Ed25519; RFC 7518
 * §3.3: RSA of 2048 bits or more).
 * A JWK that carries any private member is refused outright: the host sent
 * its private key, which is now exposed and must not be registered.
 */
function publicMembers(value: unknown, alg: HostKeyAlgorithm): JWK {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badKey("the proof's protected header must carry the public key as jwk");
  }
  const jwk = value as Record<string, unknown>;
  if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) {
    throw badKey("the jwk carries private key material; generate a new key and send only its public part");
  }
  const text = (name: string): string => {
    const member = jwk[name];
    if (typeof member !== "string" || member.length === 0) throw badKey(`the jwk lacks ${name}`);
    return member;
  };
  switch (alg) {
    case "ES256":
      if (jwk.kty !== "EC" || jwk.crv !== "P-256") throw badKey("ES256 needs an EC key on P-256");
      return { kty: "EC", crv: "P-256", x: text("x"), y: text("y") };
    case "EdDSA":
      if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519") throw badKey("EdDSA needs an OKP key on Ed25519");
      return { kty: "OKP", crv: "Ed25519", x: text("x") };
    case "RS256": {
      if (jwk.kty !== "RSA") throw badKey(`${alg} needs an RSA key`);
      const n = text("n");
      if (modulusBits(n) < MIN_RSA_MODULUS_BITS) throw badKey(`an RSA key needs at least ${MIN_RSA_MODULUS_BITS} bits`);
      return { kty: "RSA", n, e: text("e") };
    }
  }
}

function modulusBits(n: string): number {
  let bytes: Uint8Array;
  try {
    bytes = base64url.decode(n);
  } catch {
    throw badKey("the jwk's n is not base64url");
  }
  let first = 0;
  while (first < bytes.length && bytes[first] === 0) first++;
  if (first === bytes.length) return 0;
  return (bytes.length - first - 1) * 8 + (32 - Math.clz32(bytes[first] as number));
}
