import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { DPOP_HEADER } from "../../shared/contracts/headers.ts";
import { type DPOP_SIGNING_ALGS, JWT_TYP } from "../../shared/contracts/tokens.ts";
import { accessTokenHash } from "../../shared/dpop/access-token-hash.ts";
import type { DpopProtocolError } from "../../shared/dpop/errors.ts";
import { normaliseHtu } from "../../shared/dpop/normalise-htu.ts";
import { CliError } from "./errors.ts";
import { send } from "./http.ts";

/**
 * The CLI's side of RFC 9449: an operator's DPoP key, the proofs it signs
 * (§4.2), and the nonce a server asks for (§8 at the token endpoint, §9 at
 * a resource), answered with one retry. ES256: small keys and proofs, and
 * typed against what the issuer accepts (`dpop_signing_alg_values_supported`).
 */
export const DPOP_ALG: (typeof DPOP_SIGNING_ALGS)[number] = "ES256";

/** §12.2: the error a server answers when a proof must carry its nonce. */
const USE_DPOP_NONCE: DpopProtocolError = "use_dpop_nonce";

export interface DpopKey {
  privateKey: CryptoKey;
  /** Only the public members: what goes in every proof's `jwk` header (§4.2). */
  publicJwk: JWK;
  /** RFC 7638 thumbprint: the `cnf.jkt` a token bound to this key carries (§6.1). */
  jkt: string;
}

/** A fresh key pair and its private JWK, which the profile keeps (0600) so the key outlives the run. */
export async function generateDpopKey(): Promise<{ key: DpopKey; privateJwk: JWK }> {
  const { privateKey } = await generateKeyPair(DPOP_ALG, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  return { key: await importDpopKey(privateJwk), privateJwk };
}

/** The key a profile holds; anything but a P-256 private key is refused with where to look. */
export async function importDpopKey(privateJwk: JWK): Promise<DpopKey> {
  const { kty, crv, x, y, d } = privateJwk;
  if (kty !== "EC" || crv !== "P-256" || !x || !y || !d) {
    throw new CliError("the profile's DPoP key is not an EC P-256 private key");
  }
  let privateKey: CryptoKey;
  try {
    const imported = await importJWK({ kty, crv, x, y, d }, DPOP_ALG);
    if (imported instanceof Uint8Array) throw new Error("not an asymmetric key");
    privateKey = imported;
  } catch (error) {
    throw new CliError(`the profile's DPoP key cannot be used: ${error instanceof Error ? error.message : error}`);
  }
  const publicJwk: JWK = { kty, crv, x, y };
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, "sha256") };
}

export interface ProofFor {
  method: string;
  url: string;
  /** At a resource: the token the proof goes with, hashed into `ath` (§4.2, §7.1). */
  accessToken?: string;
  nonce?: string;
}

/** A proof for one request (§4.2): `typ` dpop+jwt, the public key, a fresh `jti`, `htm`, `htu`, `iat`. */
export async function dpopProof(key: DpopKey, request: ProofFor): Promise<string> {
  // §4.2: htu is the target URI without query and fragment.
  const htu = normaliseHtu(request.url);
  if (htu === undefined) throw new CliError(`${request.url} is not an http(s) URL a DPoP proof can name`);
  return new SignJWT({
    htm: request.method,
    htu,
    ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
    ...(request.accessToken === undefined ? {} : { ath: await accessTokenHash(request.accessToken) }),
  })
    .setProtectedHeader({ typ: JWT_TYP.dpopProof, alg: DPOP_ALG, jwk: key.publicJwk })
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .sign(key.privateKey);
}

export interface DpopRequest {
  method: string;
  headers: Record<string, string>;
  /** A string or form, so the retry can send it again. */
  body?: string | URLSearchParams;
  signal?: AbortSignal;
}

/**
 * Requests to one issuer with proofs by one key. The last nonce the issuer
 * handed out (in any answer, §8.2) goes in the next proof; an answer that
 * asks for a nonce gets exactly one retry with it, so a server that keeps
 * asking cannot loop the CLI. The token endpoint and the issuer's APIs
 * share one origin and one nonce, so the nonce is kept per session.
 */
export class DpopSession {
  readonly key: DpopKey;
  #nonce: string | undefined;

  constructor(key: DpopKey, nonce?: string) {
    this.key = key;
    this.#nonce = nonce;
  }

  async send(url: string, request: DpopRequest, accessToken?: string): Promise<Response> {
    return this.sendEach(url, async () => request, accessToken);
  }

  /**
   * As send, with the request made afresh for each attempt: a request that
   * carries something good for one use only (an RFC 7523 client assertion,
   * whose `jti` the token endpoint spends before it looks at the proof)
   * must not be sent twice.
   */
  async sendEach(url: string, makeRequest: () => Promise<DpopRequest>, accessToken?: string): Promise<Response> {
    const response = await this.#attempt(url, await makeRequest(), accessToken);
    if (!(await asksForNonce(response))) return response;
    await response.body?.cancel();
    return this.#attempt(url, await makeRequest(), accessToken);
  }

  async #attempt(url: string, request: DpopRequest, accessToken?: string): Promise<Response> {
    const proof = await dpopProof(this.key, {
      method: request.method,
      url,
      ...(accessToken === undefined ? {} : { accessToken }),
      ...(this.#nonce === undefined ? {} : { nonce: this.#nonce }),
    });
    const response = await send(url, {
      method: request.method,
      headers: {
        ...request.headers,
        ...(accessToken === undefined ? {} : { Authorization: `DPoP ${accessToken}` }),
        [DPOP_HEADER.proof]: proof,
      },
      ...(request.body === undefined ? {} : { body: request.body }),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const nonce = response.headers.get(DPOP_HEADER.nonce);
    if (nonce) this.#nonce = nonce;
    return response;
  }
}

/** §12.2: what the token endpoint answers a client that must prove possession and sent no proof. */
const INVALID_DPOP_PROOF: DpopProtocolError = "invalid_dpop_proof";

/** A proof-less token request refused `invalid_dpop_proof`: the client must use DPoP (RFC 9449 §5.2). */
export async function requiresDpop(response: Response): Promise<boolean> {
  if (response.status !== 400) return false;
  try {
    const body = (await response.clone().json()) as { error?: unknown };
    return body.error === INVALID_DPOP_PROOF;
  } catch {
    return false;
  }
}

/**
 * Whether the answer refuses the proof for want of the server's nonce and
 * names one to use: §8 at the token endpoint (400, `error` in the JSON
 * body), §9 at a resource (401, `error` in the `WWW-Authenticate: DPoP`
 * challenge). Without a `DPoP-Nonce` header a retry could not do better.
 */
async function asksForNonce(response: Response): Promise<boolean> {
  if (!response.headers.has(DPOP_HEADER.nonce)) return false;
  if (response.status === 401) {
    const challenge = response.headers.get("WWW-Authenticate") ?? "";
    return /^DPoP\s/i.test(challenge) && new RegExp(`\\berror="${USE_DPOP_NONCE}"`).test(challenge);
  }
  if (response.status !== 400) return false;
  try {
    const body = (await response.clone().json()) as { error?: unknown };
    return body.error === USE_DPOP_NONCE;
  } catch {
    return false;
  }
}
