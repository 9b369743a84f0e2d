import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from "jose";
import {
  type AccessTokenClaims,
  CLOCK_TOLERANCE_SECONDS,
  JWT_TYP,
  MAX_ACCESS_TOKEN_TTL_SECONDS,
  MAX_DELEGATION_DEPTH,
  MAX_GRANT_CHAIN_LENGTH,
  REQUIRED_ACCESS_TOKEN_CLAIMS,
  SIGNING_ALG,
} from "../contracts/tokens.ts";
import { isDerivedFrom } from "../revocation/derived-from.ts";
import { isGrantChainClients } from "../revocation/grant-chain-clients.ts";
import { TokenVerificationError } from "./errors.ts";
import { COMPACT_JWS } from "./compact-jws.ts";

/** Finds the public key for a `kid`, or `undefined` if it is not ours. */
export type KeyResolver = (kid: string) => Promise<CryptoKey | undefined>;

export interface VerifyAccessTokenOptions {
  issuer: string;
  /** The `aud` the token must carry; with a list, any one of them (the token Worker accepts tokens for every audience it serves). */
  audience: string | readonly string[];
  resolveKey: KeyResolver;
  /** For tests: the verifier's notion of now, in seconds. */
  currentDate?: Date;
}

/**
 * Verifies an RFC 9068 access token. Everything is pinned before any key is
 * touched: the algorithm (RFC 8725 §3.1), the `typ` (RFC 9068 §4, RFC 8725
 * §3.11), then the signature, `iss`, `aud` and the required claims. Clock
 * skew on `exp`, `nbf` and `iat` is the one tolerance every verifier uses
 * (CLOCK_TOLERANCE_SECONDS).
 */
export async function verifyAccessToken(token: string, options: VerifyAccessTokenOptions): Promise<AccessTokenClaims> {
  if (!COMPACT_JWS.test(token)) throw new TokenVerificationError("ERR_TOKEN_MALFORMED");

  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new TokenVerificationError("ERR_TOKEN_MALFORMED", "protected header is not JSON");
  }
  // `none`, HMAC (the public-key-as-secret confusion) and every other
  // algorithm fail here, before a key is looked up.
  if (header.alg !== SIGNING_ALG) throw new TokenVerificationError("ERR_TOKEN_ALG", String(header.alg));
  if (!isAccessTokenTyp(header.typ)) throw new TokenVerificationError("ERR_TOKEN_TYP", String(header.typ));
  if (typeof header.kid !== "string" || header.kid.length === 0 || header.kid.length > 128) {
    throw new TokenVerificationError("ERR_TOKEN_KID_UNKNOWN", "no usable kid");
  }
  // Critical extensions we do not understand make the JWS invalid (RFC 7515 §4.1.11).
  if (header.crit !== undefined) throw new TokenVerificationError("ERR_TOKEN_MALFORMED", "crit not supported");

  const key = await options.resolveKey(header.kid);
  if (!key) throw new TokenVerificationError("ERR_TOKEN_KID_UNKNOWN", header.kid);

  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [SIGNING_ALG],
      typ: JWT_TYP.accessToken,
      issuer: options.issuer,
      audience: typeof options.audience === "string" ? options.audience : [...options.audience],
      requiredClaims: [...REQUIRED_ACCESS_TOKEN_CLAIMS],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: options.currentDate,
    }));
  } catch (error) {
    throw mapJoseError(error);
  }
  const claims = checkClaimShapes(payload);
  // jose bounds `iat` only with maxTokenAge; a token minted "in the future"
  // is either a clock fault or a forgery, and it would outlive its `exp`
  // window's intent, so it is refused like `nbf`.
  const now = Math.floor((options.currentDate ?? new Date()).getTime() / 1000);
  if (claims.iat > now + CLOCK_TOLERANCE_SECONDS) {
    throw new TokenVerificationError("ERR_TOKEN_NOT_YET_VALID", "iat in the future");
  }
  // No issuer of ours mints a longer-lived token. One that claims a longer
  // life was minted by a misconfigured or compromised signer, and it would
  // also outlive the revocation entries that are kept only that long
  // (shared/contracts/tokens.ts, MAX_ACCESS_TOKEN_TTL_SECONDS).
  if (claims.exp - claims.iat > MAX_ACCESS_TOKEN_TTL_SECONDS) {
    throw new TokenVerificationError("ERR_TOKEN_LIFETIME", `exp - iat = ${claims.exp - claims.iat}`);
  }
  return claims;
}

/** RFC 9068 §4: `at+jwt`, with the `application/` prefix allowed (RFC 7515 §4.1.9). */
function isAccessTokenTyp(typ: unknown): boolean {
  if (typeof typ !== "string") return false;
  const t = typ.toLowerCase();
  return t === JWT_TYP.accessToken || t === `application/${JWT_TYP.accessToken}`;
}

function mapJoseError(error: unknown): TokenVerificationError {
  if (error instanceof joseErrors.JWTExpired) return new TokenVerificationError("ERR_TOKEN_EXPIRED");
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.reason === "missing") return new TokenVerificationError("ERR_TOKEN_CLAIM_MISSING", error.claim);
    switch (error.claim) {
      case "iss":
        return new TokenVerificationError("ERR_TOKEN_ISS");
      case "aud":
        return new TokenVerificationError("ERR_TOKEN_AUD");
      case "typ":
        return new TokenVerificationError("ERR_TOKEN_TYP");
      case "nbf":
        return new TokenVerificationError("ERR_TOKEN_NOT_YET_VALID");
      default:
        return new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", error.claim);
    }
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return new TokenVerificationError("ERR_TOKEN_SIGNATURE");
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new TokenVerificationError("ERR_TOKEN_ALG");
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid) {
    return new TokenVerificationError("ERR_TOKEN_MALFORMED", error.message);
  }
  return new TokenVerificationError("ERR_TOKEN_MALFORMED", error instanceof Error ? error.name : "unknown");
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

/** jose checks presence; the types of our own claims are checked here. */
function checkClaimShapes(payload: Record<string, unknown>): AccessTokenClaims {
  for (const claim of ["sub", "jti", "client_id", "org_id"] as const) {
    if (!isNonEmptyString(payload[claim])) throw new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", claim);
  }
  if (payload.scope !== undefined && typeof payload.scope !== "string") {
    throw new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", "scope");
  }
  if (payload.sid !== undefined && !isNonEmptyString(payload.sid)) {
    throw new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", "sid");
  }
  // A grant id we cannot read would silently escape its grant's revocation.
  if (payload.grant_id !== undefined && !isNonEmptyString(payload.grant_id)) {
    throw new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", "grant_id");
  }
  if (payload.grant_chain !== undefined && !isGrantChain(payload.grant_chain)) {
    throw new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", "grant_chain");
  }
  // Which client each browser grant of the chain is: one we could not line up with the chain
  // could let a `client_subject` cut-off of the grant's real client miss the token.
  if (
    payload.grant_chain_clients !== undefined &&
    !isGrantChainClients(payload.grant_chain_clients, payload.grant_chain)
  ) {
    throw new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", "grant_chain_clients");
  }
  // The tokens it was derived from: one we could not read would escape that token's revocation (RFC 7009 §2.1).
  if (payload.derived_from !== undefined && !isDerivedFrom(payload.derived_from)) {
    throw new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", "derived_from");
  }
  for (const claim of ["iat", "exp"] as const) {
    if (typeof payload[claim] !== "number" || !Number.isFinite(payload[claim])) {
      throw new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", claim);
    }
  }
  if (payload.act !== undefined && !isActor(payload.act, 0)) {
    throw new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", "act");
  }
  if (payload.roles !== undefined && !(Array.isArray(payload.roles) && payload.roles.every(isNonEmptyString))) {
    throw new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", "roles");
  }
  // RFC 9449 §6.1: a confirmation we cannot read would silently unbind the token.
  if (payload.cnf !== undefined && !isDpopConfirmation(payload.cnf)) {
    throw new TokenVerificationError("ERR_TOKEN_CLAIM_INVALID", "cnf");
  }
  return payload as unknown as AccessTokenClaims;
}

/** The grants a token also rests on: non-empty ids, bounded like `act`. */
function isGrantChain(value: unknown): boolean {
  return Array.isArray(value) && value.length <= MAX_GRANT_CHAIN_LENGTH && value.every(isNonEmptyString);
}

/** RFC 8693 §4.1: `act` is an object with a `sub`, nesting for chains (bounded). */
function isActor(value: unknown, depth: number): boolean {
  if (depth > MAX_DELEGATION_DEPTH || typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const act = value as Record<string, unknown>;
  return isNonEmptyString(act.sub) && (act.act === undefined || isActor(act.act, depth + 1));
}

/** RFC 7800 §3.1 `cnf` as RFC 9449 §6.1 uses it: `{ "jkt": <RFC 7638 thumbprint> }`, nothing else we would ignore. */
function isDpopConfirmation(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const cnf = value as Record<string, unknown>;
  return Object.keys(cnf).length === 1 && isNonEmptyString(cnf.jkt) && cnf.jkt.length <= 128;
}
