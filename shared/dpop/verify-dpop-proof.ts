import { base64url, calculateJwkThumbprint, compactVerify, importJWK, type JWK } from "jose";
import { DPOP_SIGNING_ALGS, JWT_TYP } from "../contracts/tokens.ts";
import { accessTokenHash } from "./access-token-hash.ts";
import { DpopProofError } from "./errors.ts";
import { normaliseHtu } from "./normalise-htu.ts";
import { PRIVATE_JWK_MEMBERS } from "../jwt/jwk.ts";

/** What the receiving server knows about the request a proof came with. */
export interface DpopProofExpectations {
  /** The request's method (§4.3 step 8). */
  method: string;
  /** The absolute URI the request was for; query and fragment are ignored (§4.3 step 9). */
  uri: string;
  /** The verifier's time, in seconds since the epoch. */
  now: number;
  /** How old a proof's `iat` may be (§4.3 step 11, §11.1). */
  maxAgeSeconds: number;
  /** How far in the future an `iat` may be, for clock skew. */
  clockToleranceSeconds: number;
  /** §4.3 step 12: the access token the proof is presented with, at a protected resource. */
  accessToken?: string;
  /** §4.3 step 12: the thumbprint the access token is bound to (`cnf.jkt`). */
  boundJkt?: string;
  /**
   * §4.3 step 10: present when the server requires a nonce; true if the
   * proof's `nonce` (undefined when it has none) is one the server issued
   * and still accepts.
   */
  acceptNonce?: (nonce: string | undefined) => boolean | Promise<boolean>;
}

/** A proof that passed every check. */
export interface VerifiedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key: what `cnf.jkt` binds a token to (§6.1). */
  jkt: string;
  /** The proof's unique id, for the caller's replay check (§11.1). */
  jti: string;
  /** Seconds since the epoch. */
  iat: number;
}

const ALGS: ReadonlySet<string> = new Set(DPOP_SIGNING_ALGS);

/** The key type (and curve) each accepted algorithm needs (RFC 7518 §3, RFC 8037 §3.1). */
const KEY_SHAPE: Record<(typeof DPOP_SIGNING_ALGS)[number], { kty: string; crv?: string }> = {
  ES256: { kty: "EC", crv: "P-256" },
  ES384: { kty: "EC", crv: "P-384" },
  EdDSA: { kty: "OKP", crv: "Ed25519" },
  RS256: { kty: "RSA" },
  PS256: { kty: "RSA" },
};

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_JTI_LENGTH = 256;
const MAX_URI_LENGTH = 2048;
const MAX_NONCE_LENGTH = 512;

/**
 * Verifies a DPoP proof against the request it came with, in the order of
 * RFC 9449 §4.3's checklist, and returns the key's thumbprint. The caller
 * reads the header (read-proof-header.ts, step 1), checks the `jti` for
 * replay in its own store (§11.1) and, at a protected resource, passes the
 * access token and its `cnf.jkt` (step 12). Any failure throws a
 * DpopProofError naming the step.
 */
export async function verifyDpopProof(proof: string, expect: DpopProofExpectations): Promise<VerifiedDpopProof> {
  // Step 2: a single, well-formed JWT.
  if (!COMPACT_JWS.test(proof)) throw new DpopProofError("ERR_DPOP_MALFORMED", "not a compact JWS");
  const [encodedHeader, encodedPayload] = proof.split(".") as [string, string, string];
  const header = decodeJsonObject(encodedHeader, "header");
  const claims = decodeJsonObject(encodedPayload, "payload");

  // Step 3: the claims of §4.2 (and `ath`, required with an access token).
  const required = ["jti", "htm", "htu", "iat", ...(expect.accessToken === undefined ? [] : ["ath"])];
  for (const claim of required) {
    if (claims[claim] === undefined) throw new DpopProofError("ERR_DPOP_CLAIM_MISSING", claim);
  }
  const jti = claims.jti;
  if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw new DpopProofError("ERR_DPOP_CLAIM_MISSING", "jti is not a usable string");
  }

  // Step 4: typ. Case-insensitive with an optional application/ prefix (RFC 7515 §4.1.9).
  if (!isDpopTyp(header.typ)) throw new DpopProofError("ERR_DPOP_TYP", String(header.typ));

  // Step 5: a registered asymmetric algorithm we support; `none` and MACs never are.
  const alg = header.alg;
  if (typeof alg !== "string" || !ALGS.has(alg)) throw new DpopProofError("ERR_DPOP_ALG", String(alg));
  // Critical extensions we do not understand make the JWS invalid (RFC 7515 §4.1.11).
  if (header.crit !== undefined) throw new DpopProofError("ERR_DPOP_MALFORMED", "crit not supported");

  // Step 7 before step 6: the key in `jwk` must be a public key of the algorithm's type.
  const jwk = publicJwk(header.jwk, alg as keyof typeof KEY_SHAPE);
  let key: CryptoKey;
  try {
    const imported = await importJWK(jwk, alg);
    if (imported instanceof Uint8Array || imported.type !== "public") throw new Error("not a public key");
    key = imported;
  } catch (error) {
    throw new DpopProofError("ERR_DPOP_JWK", error instanceof Error ? error.message : "import failed");
  }

  // Step 6: the signature, with the key the proof carries.
  try {
    await compactVerify(proof, key, { algorithms: [alg] });
  } catch (error) {
    throw new DpopProofError("ERR_DPOP_SIGNATURE", error instanceof Error ? error.name : "verify failed");
  }

  // Step 8: the method, exactly (RFC 9110 §9.1: methods are case-sensitive).
  if (claims.htm !== expect.method) throw new DpopProofError("ERR_DPOP_HTM", String(claims.htm));

  // Step 9: the URI, without query and fragment, after normalisation.
  const htu =
    typeof claims.htu === "string" && claims.htu.length <= MAX_URI_LENGTH ? normaliseHtu(claims.htu) : undefined;
  const expectedHtu = normaliseHtu(expect.uri);
  if (htu === undefined || expectedHtu === undefined || htu !== expectedHtu) {
    throw new DpopProofError("ERR_DPOP_HTU", String(claims.htu).slice(0, 256));
  }

  // Step 10: the server's nonce, when it requires one.
  if (expect.acceptNonce) {
    const nonce = claims.nonce;
    const usable = typeof nonce === "string" && nonce.length > 0 && nonce.length <= MAX_NONCE_LENGTH;
    if (!usable || !(await expect.acceptNonce(nonce))) throw new DpopProofError("ERR_DPOP_NONCE");
  }

  // Step 11: created within the accepted window (§11.1), allowing clock skew ahead.
  const iat = claims.iat;
  if (typeof iat !== "number" || !Number.isFinite(iat)) throw new DpopProofError("ERR_DPOP_IAT", "iat not a number");
  if (iat > expect.now + expect.clockToleranceSeconds) throw new DpopProofError("ERR_DPOP_IAT", "iat in the future");
  if (expect.now - iat > expect.maxAgeSeconds) throw new DpopProofError("ERR_DPOP_IAT", "proof too old");
  // RFC 9449 requires neither exp nor nbf, but a JWT that carries them MUST NOT be accepted past its exp
  // or before its nbf (RFC 7519 §4.1.4, §4.1.5), with the same leeway for clock skew as iat.
  if (claims.exp !== undefined) {
    const exp = claims.exp;
    if (typeof exp !== "number" || !Number.isFinite(exp)) throw new DpopProofError("ERR_DPOP_EXP", "exp not a number");
    if (exp <= expect.now - expect.clockToleranceSeconds) throw new DpopProofError("ERR_DPOP_EXP", "proof expired");
  }
  if (claims.nbf !== undefined) {
    const nbf = claims.nbf;
    if (typeof nbf !== "number" || !Number.isFinite(nbf)) throw new DpopProofError("ERR_DPOP_NBF", "nbf not a number");
    if (nbf > expect.now + expect.clockToleranceSeconds) throw new DpopProofError("ERR_DPOP_NBF", "nbf ahead");
  }

  const jkt = await calculateJwkThumbprint(jwk, "sha256");

  // Step 12: with an access token, the proof is for that token and by its key.
  if (expect.accessToken !== undefined) {
    if (typeof claims.ath !== "string" || claims.ath !== (await accessTokenHash(expect.accessToken))) {
      throw new DpopProofError("ERR_DPOP_ATH");
    }
  }
  if (expect.boundJkt !== undefined && expect.boundJkt !== jkt) throw new DpopProofError("ERR_DPOP_KEY_BINDING");

  return { jkt, jti, iat };
}

function decodeJsonObject(segment: string, part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(base64url.decode(segment)));
  } catch {
    throw new DpopProofError("ERR_DPOP_MALFORMED", `${part} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DpopProofError("ERR_DPOP_MALFORMED", `${part} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function isDpopTyp(typ: unknown): boolean {
  if (typeof typ !== "string") return false;
  const t = typ.toLowerCase();
  return t === JWT_TYP.dpopProof || t === `application/${JWT_TYP.dpopProof}`;
}

/** §4.3 step 7: the `jwk` header is a public key, of the type `alg` needs, for verifying; only its public members are used. */
function publicJwk(value: unknown, alg: keyof typeof KEY_SHAPE): JWK {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DpopProofError("ERR_DPOP_JWK", "jwk header missing or not an object");
  }
  const jwk = value as Record<string, unknown>;
  for (const member of PRIVATE_JWK_MEMBERS) {
    if (jwk[member] !== undefined) throw new DpopProofError("ERR_DPOP_JWK", `private member ${member}`);
  }
  // RFC 7517 §4.2, §4.3: a key declared for another use, or for operations that are not verifying a
  // signature, is not one a proof may be verified with. A public key's one operation on a signature is
  // `verify` (and key_ops values are unique), so key_ops, when present, is exactly ["verify"]: what
  // WebCrypto, and so the browser provider's own check of these proofs, will import a public key for.
  if (jwk.use !== undefined && jwk.use !== "sig") throw new DpopProofError("ERR_DPOP_JWK", "use is not sig");
  const keyOps = jwk.key_ops;
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.length === 1 && keyOps[0] === "verify")) {
    throw new DpopProofError("ERR_DPOP_JWK", "key_ops is not [verify]");
  }
  // WebCrypto's own JWK member (JsonWebKey `ext`, a boolean): any other value is no key it imports, so
  // not one the browser provider's check of these proofs (through WebCrypto) would verify either.
  if (jwk.ext !== undefined && typeof jwk.ext !== "boolean") {
    throw new DpopProofError("ERR_DPOP_JWK", "ext is not a boolean");
  }
  const shape = KEY_SHAPE[alg];
  if (jwk.kty !== shape.kty || (shape.crv !== undefined && jwk.crv !== shape.crv)) {
    throw new DpopProofError("ERR_DPOP_JWK", `${String(jwk.kty)}/${String(jwk.crv)} is not a key for ${alg}`);
  }
  const members = shape.kty === "RSA" ? ["n", "e"] : ["x", ...(shape.kty === "EC" ? ["y"] : [])];
  const out: JWK = { kty: shape.kty, ...(shape.crv ? { crv: shape.crv } : {}) };
  for (const member of members) {
    const part = jwk[member];
    if (typeof part !== "string" || part.length === 0 || part.length > 1024) {
      throw new DpopProofError("ERR_DPOP_JWK", `member ${member} missing`);
    }
    (out as Record<string, string>)[member] = part;
  }
  return out;
}
