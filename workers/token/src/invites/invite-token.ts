import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import {
  CLOCK_TOLERANCE_SECONDS,
  JWT_TYP,
  MAX_HOST_INVITE_TTL_SECONDS,
  SIGNING_ALG,
} from "../../../../shared/contracts/tokens.ts";
import type { KeyResolver } from "../../../../shared/jwt/verify-access-token.ts";
import { currentSigningKey, type KeyStore } from "../keys/signing-keys.ts";
import { HostBootstrapError } from "./errors.ts";
import { COMPACT_JWS } from "../../../../shared/jwt/compact-jws.ts";

/**
 * A host invite's claims. The registered ones (RFC 7519 §4.1) make it
 * single-use, short-lived and good at one endpoint only; the private ones
 * tell the host what it will become. The `host_invite` row holds the same
 * grant and is what redemption trusts (invites/store.ts); the claims are
 * there so a host can read what it is offered before it redeems.
 */
export interface InviteClaims {
  iss: string;
  /** The bootstrap endpoint (hostBootstrapAudience): an invite is good nowhere else. */
  aud: string;
  jti: string;
  iat: number;
  exp: number;
  org_id: string;
  /** RFC 6749 §3.3 syntax: the scopes the host's client may request. */
  scope: string;
  /** The audiences (RFC 8707 resources) the host's client may get tokens for. */
  audiences: string[];
  labels: Record<string, string>;
  /**
   * RFC 9449 §5.2: whether the host's client will have to present DPoP
   * proofs. Like the grant above, the row decides at redemption; the claim
   * only lets the host read it beforehand. Absent from invites signed before
   * it existed (they redeem as unbound, as their rows say).
   */
  dpop_bound_access_tokens?: boolean;
}

/** RFC 7519 §4.1.3 `aud` of every invite: the one endpoint that redeems it. */
export function hostBootstrapAudience(issuer: string): string {
  return `${issuer}${ENDPOINT.hostBootstrap}`;
}

/** Signed with the issuer's current key, `typ` mono-invite+jwt (RFC 8725 §3.11: no other kind passes as one). */
export async function signInvite(keys: KeyStore, claims: InviteClaims): Promise<string> {
  const key = await currentSigningKey(keys);
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: SIGNING_ALG, typ: JWT_TYP.hostInvite, kid: key.kid })
    .sign(key.privateKey);
}

export interface VerifyInviteOptions {
  issuer: string;
  /**
   * The issuer's own keys: redemption reads them from D1
   * (keys/database-key-resolver.ts), the truth rather than the KV copy, so
   * it never misses a key published a moment ago.
   */
  resolveKey: KeyResolver;
  /** For tests: the verifier's notion of now. */
  currentDate?: Date;
}

/** Longest invite read before parsing; an invite is well under it. */
export const MAX_INVITE_CHARS = 8192;

const REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti", "org_id"] as const;

function invalid(description: string): HostBootstrapError {
  return new HostBootstrapError("invite_invalid", description);
}

/**
 * Verifies a host invite the way verifiers of this issuer verify every JWT
 * (shared/jwt/verify-access-token.ts): the algorithm (RFC 8725 §3.1) and
 * `typ` (§3.11) are pinned before a key is looked up, then the signature,
 * `iss`, `aud` (§3.9: the bootstrap endpoint, so no other token of ours can
 * be replayed here), `exp` and the required claims. Expiry gets its own
 * code; everything else is `invite_invalid`.
 */
export async function verifyInvite(token: string, options: VerifyInviteOptions): Promise<InviteClaims> {
  if (token.length > MAX_INVITE_CHARS || !COMPACT_JWS.test(token)) throw invalid("the invite is not a compact JWS");
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw invalid("the invite's protected header is not JSON");
  }
  if (header.alg !== SIGNING_ALG) throw invalid("the invite's algorithm is not accepted");
  if (header.typ !== JWT_TYP.hostInvite) throw invalid(`the token is not a host invite (typ ${JWT_TYP.hostInvite})`);
  // RFC 7515 §4.1.11: an extension we do not understand makes the JWS invalid.
  if (header.crit !== undefined) throw invalid("crit is not supported");
  if (typeof header.kid !== "string" || header.kid.length === 0 || header.kid.length > 128) {
    throw invalid("the invite names no usable key");
  }
  const key = await options.resolveKey(header.kid);
  if (!key) throw invalid("the invite is signed by a key this issuer does not hold");

  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [SIGNING_ALG],
      typ: JWT_TYP.hostInvite,
      issuer: options.issuer,
      audience: hostBootstrapAudience(options.issuer),
      requiredClaims: [...REQUIRED_CLAIMS],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: options.currentDate,
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired)
      throw new HostBootstrapError("invite_expired", "the invite has expired");
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) throw invalid("the invite's signature is invalid");
    if (error instanceof joseErrors.JWTClaimValidationFailed)
      throw invalid(`the invite's ${error.claim} is not accepted`);
    throw invalid("the invite is malformed");
  }
  const claims = checkInviteClaims(payload);
  const now = Math.floor((options.currentDate ?? new Date()).getTime() / 1000);
  // jose bounds `iat` only through maxTokenAge: an invite from the future
  // is a clock fault or a forgery, and it could outlive the 24 h cap.
  if (claims.iat > now + CLOCK_TOLERANCE_SECONDS) throw invalid("the invite's iat is in the future");
  if (claims.exp - claims.iat > MAX_HOST_INVITE_TTL_SECONDS) throw invalid("the invite lives longer than allowed");
  return claims;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

/** jose checks presence; the shapes of the private claims are checked here. */
function checkInviteClaims(payload: Record<string, unknown>): InviteClaims {
  for (const claim of ["jti", "org_id"] as const) {
    if (!isNonEmptyString(payload[claim])) throw invalid(`the invite's ${claim} is not a string`);
  }
  if (typeof payload.aud !== "string") throw invalid("the invite's aud is not the bootstrap endpoint");
  if (typeof payload.scope !== "string") throw invalid("the invite's scope is not a string");
  const audiences = payload.audiences;
  if (!Array.isArray(audiences) || !audiences.every(isNonEmptyString))
    throw invalid("the invite's audiences are invalid");
  const labels = payload.labels;
  if (
    typeof labels !== "object" ||
    labels === null ||
    Array.isArray(labels) ||
    !Object.values(labels).every((v) => typeof v === "string")
  ) {
    throw invalid("the invite's labels are invalid");
  }
  const bound = payload.dpop_bound_access_tokens;
  if (bound !== undefined && typeof bound !== "boolean")
    throw invalid("the invite's dpop_bound_access_tokens is invalid");
  return payload as unknown as InviteClaims;
}
